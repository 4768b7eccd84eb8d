import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Writers do not notify (a NOTIFY in every commit serialises commits), so the
 * relay polls; a mutation of this process wakes it at once instead, which
 * makes an event of the leader's own process wait for no poll.
 */
export function useWakeRelayAfterMutations(relay: { wake(): void }): Plugin {
  return {
    onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      return { onExecuteDone: () => relay.wake() };
    },
  };
}
