import { useDisableIntrospection } from '@envelop/disable-introspection';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { GraphQLError, ValidationContext } from 'graphql';
import { envelop, useEnvelop, type Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { maxFieldsRule } from './max-fields.js';

/**
 * Rejections become ordinary validation errors (HTTP 400, a graphql-ws `error`
 * message) instead of exceptions thrown out of `validate`, which graphql-ws
 * would turn into a 4500 close of the whole connection.
 */
const report = {
  propagateOnRejection: false,
  onReject: [(context: ValidationContext | null, error: GraphQLError) => context?.reportError(error)],
};

/**
 * Bounds on what one operation may ask for. They are envelop plugins, so they
 * apply to every transport: Yoga runs them for HTTP and SSE, and transport/graphql-ws.ts
 * validates graphql-ws operations through the same `getEnveloped()`.
 */
export function useOperationLimits(config: Config): Plugin {
  const limits = config.limits;
  const plugins = [
    // While parsing: a huge document is refused before it becomes a huge AST.
    maxTokensPlugin({ n: limits.maxTokens }),
    maxDepthPlugin({ n: limits.maxDepth, ...report }),
    maxAliasesPlugin({ n: limits.maxAliases, ...report }),
    maxDirectivesPlugin({ n: limits.maxDirectives, ...report }),
    costLimitPlugin({ maxCost: limits.maxCost, ...report }),
    maxFieldsPlugin(limits.maxFields),
  ];
  if (!config.introspection) {
    plugins.push(
      useDisableIntrospection(),
      // "Did you mean ...?" would hand out the schema that introspection no longer does.
      blockFieldSuggestionsPlugin(),
    );
  }
  return useEnvelop(envelop({ plugins }));
}

function maxFieldsPlugin(max: number): Plugin {
  return { onValidate: ({ addValidationRule }) => addValidationRule(maxFieldsRule(max)) };
}
