import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { NoSchemaIntrospectionCustomRule, type GraphQLError, type ValidationContext, type ValidationRule } from 'graphql';
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
  // Built once and added by one hook: each plugin's own hook cost a hook call and a rule per request.
  const rules: ValidationRule[] = [
    maxDepthRule({ n: limits.maxDepth, ...report }),
    maxAliasesRule({ n: limits.maxAliases, ...report }),
    maxDirectivesRule({ n: limits.maxDirectives, ...report }),
    costLimitRule({ maxCost: limits.maxCost, ...report }),
    maxFieldsRule(limits.maxFields),
  ];
  // What @envelop/disable-introspection adds (its plugin is that one rule); every transport validates through here.
  if (!config.introspection) rules.push(NoSchemaIntrospectionCustomRule);
  const plugins: Plugin[] = [
    // While parsing: a huge document is refused before it becomes a huge AST.
    maxTokensPlugin({ n: limits.maxTokens }),
    {
      onValidate: ({ addValidationRule }) => {
        for (const rule of rules) addValidationRule(rule);
      },
    },
  ];
  // "Did you mean ...?" would hand out the schema that introspection no longer does.
  if (!config.introspection) plugins.push(blockFieldSuggestionsPlugin());
  return useEnvelop(envelop({ plugins }));
}
