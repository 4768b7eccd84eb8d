import { getOperationAST, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Counter } from 'prom-client';
import { isAsyncIterable } from '../basics/async-iteration.js';
import type { Metrics } from './metrics.js';
import type { SubscriptionObserver } from './subscription-observer.js';
import { overHttp } from '../context.js';

function rootField(document: DocumentNode, operationName: string | null | undefined): string {
  const operation = getOperationAST(document, operationName);
  const selection = operation?.selectionSet.selections[0];
  return selection?.kind === 'Field' ? selection.name.value : 'unknown';
}

function countRateLimited(metrics: Metrics, field: string, result: ExecutionResult): void {
  if (result.errors?.some((error) => error.extensions?.['code'] === 'RATE_LIMITED')) metrics.rateLimited.inc({ field });
}

/** RATE_LIMITED answers of queries and mutations, by root field. */
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
  };
}

/** Subscriptions and deliveries by root field, and SSE streams: for shared execution to tell (see subscription-observer.ts). */
export function observeSubscriptions(metrics: Metrics): (args: ExecutionArgs) => SubscriptionObserver {
  return (args) => new SubscriptionCounter(metrics, rootField(args.document, args.operationName), overHttp(args.contextValue));
}

class SubscriptionCounter implements SubscriptionObserver {
  /** Bound once: a label lookup per delivery showed in the fan-out profile. */
  private readonly deliveries: Counter.Internal;

  constructor(
    private readonly metrics: Metrics,
    private readonly field: string,
    private readonly sse: boolean,
  ) {
    metrics.subscriptions.inc({ field });
    if (sse) metrics.connections.inc({ transport: 'sse' });
    this.deliveries = metrics.deliveries.labels({ field });
  }

  delivered(result: ExecutionResult): void {
    this.deliveries.inc();
    if (result.errors) countRateLimited(this.metrics, this.field, result);
  }

  ended(): void {
    this.metrics.subscriptions.dec({ field: this.field });
    if (this.sse) this.metrics.connections.dec({ transport: 'sse' });
  }
}
