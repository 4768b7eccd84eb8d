import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Plugin } from 'graphql-yoga';

/**
 * Pothos scope-auth keeps a cache per GraphQL context (an object and five
 * Maps, about 1 KB) for as long as the context lives, and a subscription's
 * context lives as long as the subscription. Scopes are checked when a
 * subscription starts (`authorizeOnSubscribe`), and no field below a root
 * field declares scopes, so the cache has nothing left to do once the
 * subscription has started: it is dropped then. Anything that asks again
 * later builds a new one from the context.
 */
export function useDropScopeCacheOfStartedSubscriptions(): Plugin {
  // The same hooks for every subscription: nothing is allocated per subscription.
  const hooks = {
    onSubscribeResult({ args }: { args: { contextValue: unknown } }) {
      if (typeof args.contextValue === 'object' && args.contextValue !== null) RequestCache.clearForContext(args.contextValue);
    },
  };
  return { onSubscribe: () => hooks };
}
