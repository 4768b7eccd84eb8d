import { useSyncExternalStore } from 'react';

/** The pages, as hash routes: the built page needs no server-side routing. */
export type Route = { page: 'orders'; orderId: string | null } | { page: 'board' };

export function parseRoute(hash: string): Route | null {
  const [page, id] = hash.replace(/^#\/?/, '').split('/');
  if (page === 'board') return { page: 'board' };
  if (page === 'orders') return { page: 'orders', orderId: id || null };
  return null;
}

export function routeHref(route: Route): string {
  return route.page === 'board' ? '#/board' : `#/orders${route.orderId ? `/${route.orderId}` : ''}`;
}

function onHashChange(listener: () => void): () => void {
  window.addEventListener('hashchange', listener);
  return () => window.removeEventListener('hashchange', listener);
}

/** The current route; null when the hash names none (the app picks one by role). */
export function useRoute(): Route | null {
  const hash = useSyncExternalStore(onHashChange, () => window.location.hash);
  return parseRoute(hash);
}
