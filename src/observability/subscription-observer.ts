import type { ExecutionResult } from 'graphql';

/**
 * Told about one subscription's life by the layer that runs it (shared
 * execution, or its fan-out group), instead of wrapping its stream in one
 * more iterator: every idle subscription would hold that layer and its
 * pending promise.
 */
export interface SubscriptionObserver {
  /** Each result sent to this subscriber on its own (fan-out groups report their deliveries per event instead). */
  delivered(result: ExecutionResult): void;
  /** The subscription ended, however it did; called once. */
  ended(): void;
}
