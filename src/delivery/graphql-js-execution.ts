import { execute, type ExecutionArgs, type ExecutionResult, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Queries and mutations run on graphql-js's own `execute`, the one events are
 * executed with (shared-execution.ts), instead of the executor Yoga ships
 * (@graphql-tools/executor). That one exists for @defer/@stream and for
 * cancelling an execution through an AbortSignal; this schema has neither
 * directive and Yoga passes no signal without its cancellation plugin. Both
 * coerce variables with graphql-js's rules and messages and run resolvers the
 * same way; Yoga's copies every input object before coercing it and wraps
 * every step in its promise helpers, work with nothing to show for it here
 * (what it saved, measured: docs/performance.md).
 *
 * First of the plugins that set or wrap the execute function, so live queries
 * (live/plugin.ts) wrap this one.
 */
export function useGraphqlJsExecution(): Plugin {
  return { onExecute: ({ setExecuteFn }) => setExecuteFn(executeMarkingRequestErrors) };
}

/**
 * graphql-js answers arguments it cannot execute (variables that do not fit
 * their types, an unknown operation name) with errors and no data. Yoga's
 * executor marks those errors as HTTP 400, which is how Yoga answers them over
 * HTTP (the GraphQL-over-HTTP spec's request errors); so does this.
 */
function executeMarkingRequestErrors(args: ExecutionArgs): ReturnType<typeof execute> {
  const result = execute(args);
  if (result instanceof Promise || 'data' in result || !result.errors) return result;
  return { ...result, errors: result.errors.map(asRequestError) } satisfies ExecutionResult;
}

function asRequestError(error: GraphQLError): GraphQLError {
  const http = (error.extensions['http'] ?? {}) as Record<string, unknown>;
  // The same error object, as Yoga's executor keeps it: only its extensions change.
  Object.defineProperty(error, 'extensions', { value: { ...error.extensions, http: { ...http, status: 400 } } });
  return error;
}
