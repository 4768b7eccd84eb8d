import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable, withEnd } from './async-iteration.js';
import type { Metrics } from './metrics.js';
import { overHttp } from './transport.js';

function rootField(document: DocumentNode, operationName: string | null | undefined): string {
  const operation = getOperationAST(document, operationName);
  const selection = operation?.selectionSet.selections[0];
  return selection?.kind === 'Field' ? selection.name.value : 'unknown';
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
      const sse = overHttp(args.contextValue);
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable<ExecutionResult>(result)) return;
          metrics.subscriptions.inc({ field });
          if (sse) metrics.connections.inc({ transport: 'sse' });
          // Bound once: a label lookup per delivery showed in the fan-out profile.
          const delivered = metrics.deliveries.labels({ field });
          // Counted in the same layer that notices the end: an onNext hook would make envelop wrap every stream once more.
          setResult(
            withEnd(
              result,
              () => {
                metrics.subscriptions.dec({ field });
                if (sse) metrics.connections.dec({ transport: 'sse' });
              },
              (next) => {
                delivered.inc();
                if (next.errors) countRateLimited(metrics, field, next);
              },
            ),
          );
        },
      };
    },
  };
}
