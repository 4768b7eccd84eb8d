import { GraphQLError, type ASTNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isUnavailable, serviceUnavailable } from '../errors.js';
import type { Logger } from '../observability/log.js';
import { isAsyncIterable } from '../basics/async-iteration.js';

export type MaskError = (error: unknown) => GraphQLError;

/**
 * The error policy: errors of ours (coded GraphQL errors) pass; a backing
 * service that is down is SERVICE_UNAVAILABLE; anything else is logged and
 * reaches the client as `Unexpected error.`, without its message or stack.
 */
export function createErrorMasker(log: Logger): MaskError {
  return (error) => {
    const original = error instanceof GraphQLError ? error.originalError : error;
    if (error instanceof GraphQLError && (!original || original instanceof GraphQLError)) return error;
    if (isUnavailable(original ?? error)) {
      log.warn({ err: original ?? error }, 'backing service unavailable');
      return serviceUnavailable();
    }
    log.error({ err: original ?? error }, 'internal error');
    return new GraphQLError('Unexpected error.', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}

/**
 * Applies the error policy (createErrorMasker) without Yoga's built-in masking.
 *
 * Yoga's masking returns an `onNext` hook for every subscription, and envelop
 * then wraps each subscription's stream in two more iterator layers (one for
 * `onNext`, one for stream errors) that an idle subscription holds for its
 * whole life: about 3 KB per subscription. Events are masked where they are
 * executed instead, once per event for all its subscribers (shared execution
 * and fan-out groups); this plugin masks everything else: single results,
 * context errors, and what Yoga answers for errors thrown outside execution.
 */
export function useErrorMasking(maskError: MaskError): Plugin {
  const maskResult = ({ result, setResult }: { result: ExecutionResult | AsyncIterable<unknown>; setResult: (result: ExecutionResult) => void }) => {
    if (isAsyncIterable(result)) return;
    const masked = maskedResult(result, maskError);
    if (masked !== result) setResult(masked);
  };
  // The same hooks for every operation: nothing is allocated, or kept, per subscription.
  const executeHooks = { onExecuteDone: maskResult };
  const subscribeHooks = { onSubscribeResult: maskResult };
  return {
    onPluginInit({ registerContextErrorHandler }) {
      registerContextErrorHandler(({ error, setError }) => setError(maskError(error)));
    },
    onExecute: () => executeHooks,
    onSubscribe: () => subscribeHooks,
    // Errors thrown outside execution, which Yoga turns into results itself.
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result)) {
        const masked = result.map((single) => maskedResult(single, maskError));
        if (masked.some((single, index) => single !== result[index])) setResult(masked);
      } else if (!isAsyncIterable(result)) {
        const masked = maskedResult(result, maskError);
        if (masked !== result) setResult(masked);
      }
    },
  };
}

/** What a stream threw, as a GraphQL error that keeps the original (as graphql-js's own mapping does), ready for masking. */
export function asGraphQLError(error: unknown, nodes?: ASTNode | null): GraphQLError {
  if (error instanceof GraphQLError) return error;
  return new GraphQLError(error instanceof Error ? error.message : String(error), { nodes, originalError: error instanceof Error ? error : null });
}

/** The result with its errors masked; the same object when no error changes. */
export function maskedResult<T extends ExecutionResult>(result: T, maskError: MaskError): T {
  if (!result.errors?.length) return result;
  const errors = result.errors.map(maskError);
  return errors.every((error, index) => error === result.errors![index]) ? result : { ...result, errors };
}
