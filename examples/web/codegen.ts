import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Types the example's operations from the server's printed schema (the root
 * `npm run codegen` writes ../../schema.graphql), with the client preset:
 * `graphql()` in src/gql returns a TypedDocumentNode for each document.
 */
const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' },
      },
    },
  },
};

export default config;
