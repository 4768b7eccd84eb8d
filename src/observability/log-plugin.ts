import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { isAsyncIterable } from '../basics/async-iteration.js';
import type { Context } from '../context.js';
import type { Logger } from './log.js';

/**
 * One log line per mutation that answered with errors: who, which field,
 * which codes, which request. Arguments and bodies stay out of the log.
 */
export function useErrorLog(log: Logger): Plugin {
  return {
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;
      return {
        onExecuteDone({ result }) {
          if (isAsyncIterable(result) || !result.errors?.length) return;
          const context = args.contextValue as Partial<Context>;
          log.info(
            {
              requestId: context.requestId,
              userId: context.viewer?.id,
              operation: args.operationName ?? undefined,
              fields: operation.selectionSet.selections.map((selection) => (selection.kind === 'Field' ? selection.name.value : selection.kind)),
              codes: result.errors.map((error) => error.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR'),
            },
            'mutation failed',
          );
        },
      };
    },
  };
}
