import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable } from '../basics/async-iteration.js';

const INVALID_VARIABLE = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" (?:got invalid value|of required type|of non-null type)/;

/**
 * graphql-js refuses variables that do not fit their types (an unknown enum
 * value, "abc" for an Int) before execution, without an error code. The
 * contract answers bad input with BAD_USER_INPUT naming the field: here the
 * variable.
 */
function withCodes(result: ExecutionResult): ExecutionResult | null {
  if (!result.errors?.some((error) => INVALID_VARIABLE.test(error.message) && !error.extensions['code'])) return null;
  return {
    ...result,
    errors: result.errors.map((error) => {
      const match = INVALID_VARIABLE.exec(error.message);
      if (!match || error.extensions['code']) return error;
      return new GraphQLError(error.message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        originalError: error.originalError,
        // A nested input field is named by its path, e.g. `input.title`.
        extensions: { ...error.extensions, code: 'BAD_USER_INPUT', field: / at "([^"]+)"/.exec(error.message)?.[1] ?? match[1] },
      });
    }),
  };
}

export function useVariableErrorCodes(): Plugin {
  const onDone = ({ result, setResult }: { result: ExecutionResult | AsyncIterable<ExecutionResult>; setResult: (result: ExecutionResult) => void }) => {
    if (isAsyncIterable(result)) return;
    const coded = withCodes(result);
    if (coded) setResult(coded);
  };
  // The same hooks for every operation: nothing is allocated, or kept, per subscription.
  const executeHooks = { onExecuteDone: onDone };
  const subscribeHooks = { onSubscribeResult: onDone };
  return {
    onExecute: () => executeHooks,
    onSubscribe: () => subscribeHooks,
  };
}
