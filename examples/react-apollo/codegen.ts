import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Types the example's operations from the server's printed schema (the root
 * `npm run codegen` writes ../../schema.graphql), with the client preset:
 * `graphql()` in src/gql returns a TypedDocumentNode for each document, which
 * Apollo's hooks read their data and variables types from.
 */
const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      // persisted-documents.json (id → text) for a server with TRUSTED_DOCUMENTS; each document carries its id.
      presetConfig: { fragmentMasking: false, persistedDocuments: true },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown', ID: 'string' },
      },
    },
  },
};

export default config;
