import type { ApolloError } from '@apollo/client';

export function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function money(cents: number): string {
  return (cents / 100).toFixed(2);
}

/** PICKED_UP → "PICKED UP". */
export function statusText(status: string): string {
  return status.replaceAll('_', ' ');
}

/** Names an Apollo error for a status line; GraphQL errors carry a code. */
export function describeError(error: ApolloError): string {
  const first = error.graphQLErrors[0];
  if (first) {
    const code = first.extensions?.['code'];
    return typeof code === 'string' ? `${code}: ${first.message}` : first.message;
  }
  return error.networkError?.message ?? error.message;
}
