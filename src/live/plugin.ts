import { GraphQLError, Kind, type DocumentNode, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable, withEnd } from '../basics/async-iteration.js';
import { overHttp, type Context } from '../context.js';
import { maskedResult, type MaskError } from '../delivery/error-masking.js';
import { liveOperation } from '../schema/live-directive.js';
import { dependencies, viewerPartOf } from './dependencies.js';
import type { LiveGroups } from './live-groups.js';

export interface LiveQueryOptions {
  groups: LiveGroups;
  /** LIVE_THROTTLE_MIN_MS: the least time between two results of one live query. */
  minThrottleMs: number;
  /** Who asks, for operations whose result depends on the viewer. */
  viewerKey: (context: unknown) => string;
  maskError: MaskError;
  /**
   * An SSE live query is an open stream like an SSE subscription: it takes a
   * connection slot and keeps its user online while it runs (stream-slots.ts,
   * presence/sse.ts). The end function, or the refusal.
   */
  openStream: (userId: string) => Promise<(() => void) | GraphQLError>;
}

/**
 * `query … @live` over graphql-ws and SSE: the operation answers with its
 * result, then again each time a change its result depends on commits
 * (live-groups.ts). Over plain HTTP, and with `@live(if: false)`, the
 * query answers once like any other.
 */
export function useLiveQueries(options: LiveQueryOptions): Plugin {
  // Per parsed document (the document cache hands the same object for the same text): a short id for
  // sharing keys, and whether any of its queries carries @live, so every other operation (each
  // mutation, each plain query) costs one map lookup here.
  const documents = new WeakMap<DocumentNode, { id: number; mentionsLive: boolean }>();
  let documentCount = 0;
  const documentInfo = (document: DocumentNode) => {
    let info = documents.get(document);
    if (!info) documents.set(document, (info = { id: ++documentCount, mentionsLive: mentionsLive(document) }));
    return info;
  };
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const document = documentInfo(args.document);
      if (!document.mentionsLive) return;
      const live = liveOperation(args.document, args.operationName, args.variableValues, options.minThrottleMs);
      if (!live || !streamsResults(args.contextValue)) return;
      const viewer = (args.contextValue as unknown as Context).viewer;
      const execute = async (executeArgs: ExecutionArgs): Promise<ExecutionResult> => {
        const result = await executeFn(executeArgs);
        // A query's execution is one result; only subscriptions and @defer/@stream stream.
        if (isAsyncIterable(result)) throw new Error('a live query cannot use @defer or @stream');
        return maskedResult(result, options.maskError);
      };
      setExecuteFn(async (executeArgs) => {
        let ended: (() => void) | null = null;
        if (viewer && overHttp(executeArgs.contextValue)) {
          const opened = await options.openStream(viewer.id);
          if (opened instanceof GraphQLError) return { errors: [opened] };
          ended = opened;
        }
        const stream = await options.groups.join({
          key: [document.id, executeArgs.operationName ?? '', JSON.stringify(executeArgs.variableValues ?? {}), viewerPartOf(live.operation, viewer, () => options.viewerKey(executeArgs.contextValue))].join('\u0000'),
          args: executeArgs,
          execute,
          channels: dependencies(live.operation, executeArgs.variableValues, viewer),
          throttleMs: live.throttleMs,
          fields: rootFields(live.operation),
        });
        return ended ? withEnd(stream, ended) : stream;
      });
    },
  };
}

function mentionsLive(document: DocumentNode): boolean {
  return document.definitions.some(
    (definition) => definition.kind === Kind.OPERATION_DEFINITION && definition.operation === 'query' && definition.directives?.some((directive) => directive.name.value === 'live'),
  );
}

/** graphql-ws always streams; HTTP only when the client accepts an event stream (SSE, graphql-sse). */
function streamsResults(context: unknown): boolean {
  if (!overHttp(context)) return true;
  const accept = (context as { request: Request }).request.headers.get('accept') ?? '';
  return accept.includes('text/event-stream');
}

function rootFields(operation: OperationDefinitionNode): string {
  return operation.selectionSet.selections
    .map((selection) => (selection.kind === Kind.FIELD ? selection.name.value : '…'))
    .sort()
    .join(',');
}
