import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable, withEnd } from './async-iteration.js';
import type { Metrics } from './metrics.js';

function rootField(document: DocumentNode, operationName: string | null | undefined): string {
  const operation = getOperationAST(document, operationName);
  const selection = operation?.selectionSet.selections[0];
  return selection?.kind === 'Field' ? selection.name.value : 'unknown';
}

/** SSE operations carry a fetch Request; graphql-ws ones the Node upgrade request. */
function overSse(context: unknown): boolean {
  const request = (context as { request?: { headers?: { get?: unknown } } }).request;
  return typeof request?.headers?.get === 'function';
}

function countRateLimited(metrics: Metrics, field: string, result: ExecutionResult): void {
  if (result.errors?.some((error) => error.extensions?.['code'] === 'RATE_LIMITED')) metrics.rateLimited.inc({ field });
}

/** Subscriptions and deliveries by root field, SSE streams, and RATE_LIMITED answers. */
export function useOperationMetrics(metrics: Metrics): Plugin {
  return {
    onExecute({ args }) {
      const field = rootField(args.document, args.operationName);
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) countRateLimited(metrics, field, result);
        },
      };
    },
    onSubscribe({ args }) {
      const field = rootField(args.document, args.operationName);
      const sse = overSse(args.contextValue);
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable<ExecutionResult>(result)) return;
          metrics.subscriptions.inc({ field });
          if (sse) metrics.connections.inc({ transport: 'sse' });
          setResult(
            withEnd(result, () => {
              metrics.subscriptions.dec({ field });
              if (sse) metrics.connections.dec({ transport: 'sse' });
            }),
          );
          return {
            onNext({ result: next }) {
              metrics.deliveries.inc({ field });
              countRateLimited(metrics, field, next);
            },
          };
        },
      };
    },
  };
}
