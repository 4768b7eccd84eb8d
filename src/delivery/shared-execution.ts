import {
  createSourceEventStream,
  execute,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  BREAK,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable } from '../basics/async-iteration.js';
import { asGraphQLError, maskedResult, type MaskError } from './error-masking.js';
import { FANOUT, PER_VIEWER, type FanoutKey } from '../schema/field-extensions.js';
import type { FanoutGroups, WsTarget } from './fanout-groups.js';
import type { SubscriptionObserver } from '../observability/subscription-observer.js';

export interface SharedExecutionOptions {
  /** false executes once per subscriber (the plain path, kept for comparison). */
  enabled: boolean;
  /** Who asks, for operations that select a per-viewer field. */
  viewerKey: (context: unknown) => string;
  /** Each execution of an event, and whether its result came from another subscriber's. */
  onExecution?: (shared: boolean) => void;
  /** Groups graphql-ws subscribers of root fields with a fan-out key (see fanout-groups.ts). */
  groups?: FanoutGroups;
  /** Masks internal errors of events and of the stream, once per event for all its subscribers (see error-masking.ts). */
  maskError: MaskError;
  /** Follows each subscription that started (for metrics), without another layer around its stream. */
  observe?: (args: ExecutionArgs) => SubscriptionObserver;
}


/**
 * One event reaching many subscribers of the same operation shape is
 * executed once per distinct (document, operation, variables, viewer when a
 * per-viewer field is selected), and every one of them gets that result.
 *
 * Streams hand their subscribers the same payload object for the same event
 * (the row one batched read loaded, the event itself), so the payload's
 * identity says "the same event"; a stream that builds a payload per
 * subscriber is simply executed per subscriber. The result is never
 * changed downstream: Yoga's masking and graphql-ws build new objects.
 */
export function useSharedExecution(options: SharedExecutionOptions): Plugin {
  /**
   * Results of this turn of the event loop, by payload and key. The
   * subscribers of one event read it from one batched load or one PubSub
   * dispatch, so they execute it in the same turn; a turn-long strong map
   * (dropped on the next one) costs the garbage collector far less than a
   * WeakMap entry for every payload of every subscriber.
   */
  let results: Map<object, Map<string, ReturnType<typeof execute>>> | null = null;
  const forget = () => {
    results = null;
  };
  /** Per parsed document (the document cache hands the same object for the same query text): a short id, and whether it selects a per-viewer field. */
  const documents = new WeakMap<DocumentNode, { id: number; perViewer: boolean }>();
  let documentCount = 0;

  function shareKey(args: ExecutionArgs): string {
    let document = documents.get(args.document);
    if (!document) {
      document = { id: ++documentCount, perViewer: selectsPerViewerField(args.schema, args.document) };
      documents.set(args.document, document);
    }
    const viewer = document.perViewer ? options.viewerKey(args.contextValue) : '';
    return `${document.id}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${viewer}`;
  }

  const masked = (result: ExecutionResult) => maskedResult(result, options.maskError);
  const executeMasked = (args: ExecutionArgs, payload: unknown): ReturnType<typeof execute> => {
    const result = execute({ ...args, rootValue: payload });
    return result instanceof Promise ? result.then(masked) : masked(result);
  };

  function executeEvent(args: ExecutionArgs, key: string, payload: unknown): ReturnType<typeof execute> {
    if (!options.enabled || typeof payload !== 'object' || payload === null) {
      options.onExecution?.(false);
      return executeMasked(args, payload);
    }
    if (!results) {
      results = new Map();
      setImmediate(forget);
    }
    let byKey = results.get(payload);
    if (!byKey) {
      byKey = new Map();
      results.set(payload, byKey);
    }
    const shared = byKey.get(key);
    if (shared) {
      options.onExecution?.(true);
      return shared;
    }
    options.onExecution?.(false);
    const result = executeMasked(args, payload);
    byKey.set(key, result);
    return result;
  }

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        try {
          const source = await createSourceEventStream(args);
          if (!isAsyncIterable(source)) return source as ExecutionResult;
          const key = shareKey(args);
          const iterator = source[Symbol.asyncIterator]();
          const target = (args.contextValue as { wsTarget?: WsTarget } | null)?.wsTarget;
          const groups = options.enabled ? options.groups : undefined;
          const fanout = groups && target ? fanoutOf(args) : null;
          const observer = options.observe?.(args);
          if (groups && target && fanout) return groups.join(`${fanout.field}\u0000${fanout.key}\u0000${key}`, fanout.field, iterator, args, target, observer);
          return new MappedEvents(iterator, executeEvent, args, key, options.maskError, observer);
        } catch (error) {
          // Answered as a result, masked by the plugin, instead of an error hook that would wrap every stream.
          return { errors: [options.maskError(error)] };
        }
      });
    },
  };
}

/** The root field's fan-out key for these arguments and this viewer, or null (not groupable). */
function fanoutOf(args: ExecutionArgs): { field: string; key: string } | null {
  const operation = getOperationAST(args.document, args.operationName);
  const selection = operation?.operation === 'subscription' ? operation.selectionSet.selections : [];
  const fieldNode = selection.length === 1 && selection[0]!.kind === 'Field' ? selection[0] : null;
  const field = fieldNode ? args.schema.getSubscriptionType()?.getFields()[fieldNode.name.value] : undefined;
  const keyOf = field?.extensions?.[FANOUT] as FanoutKey | undefined;
  if (!operation || !fieldNode || !field || typeof keyOf !== 'function' || fieldNode.directives?.length) return null;
  const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], args.variableValues ?? {});
  if (variables.errors) return null;
  const key = keyOf(getArgumentValues(field, fieldNode, variables.coerced), args.contextValue);
  return key === null ? null : { field: field.name, key };
}

/** Whether any field the document selects (fragments included) is marked per-viewer. */
function selectsPerViewerField(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        if (typeInfo.getFieldDef()?.extensions?.[PER_VIEWER] !== true) return undefined;
        found = true;
        return BREAK;
      },
    }),
  );
  return found;
}

/**
 * The source's events mapped to results: one layer, no generator, and a class
 * (methods on the prototype) since every idle subscription holds one. An
 * error of the source (a slow consumer, say) ends the stream as a GraphQL
 * error that keeps the original, as graphql-js's own mapping does, masked
 * when internal.
 */
class MappedEvents implements AsyncIterableIterator<ExecutionResult> {
  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly executeEvent: (args: ExecutionArgs, key: string, payload: unknown) => ReturnType<typeof execute>,
    private readonly args: ExecutionArgs,
    private readonly key: string,
    private readonly maskError: MaskError,
    private observer: SubscriptionObserver | undefined,
  ) {}

  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.source.next().then(
      (step) => this.fromSource(step),
      (error: unknown) => this.fail(error),
    );
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    this.end();
    await this.source.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private fromSource(step: IteratorResult<unknown>): IteratorResult<ExecutionResult> | Promise<IteratorResult<ExecutionResult>> {
    if (step.done) {
      this.end();
      return { done: true, value: undefined };
    }
    const result = this.executeEvent(this.args, this.key, step.value);
    return result instanceof Promise ? result.then((value) => this.toStep(value)) : this.toStep(result);
  }

  private toStep(value: ExecutionResult): IteratorResult<ExecutionResult> {
    this.observer?.delivered(value);
    return { done: false, value };
  }

  private fail(error: unknown): never {
    this.end();
    throw this.maskError(asGraphQLError(error, getOperationAST(this.args.document, this.args.operationName)));
  }

  private end(): void {
    this.observer?.ended();
    this.observer = undefined;
  }
}
