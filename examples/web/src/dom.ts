type Child = Node | string | null | undefined | false;

/** A tiny element factory: enough for this page without a framework. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value !== undefined) element.setAttribute(name, value);
  }
  element.append(...children.filter((child): child is Node | string => Boolean(child)));
  return element;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

export function time(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function money(cents: number): string {
  return (cents / 100).toFixed(2);
}

/** Names the last error of a result for a status line; GraphQL errors carry a code. */
export function describeError(error: { graphQLErrors: readonly { message: string; extensions?: Record<string, unknown> }[]; networkError?: Error | undefined; message: string }): string {
  const first = error.graphQLErrors[0];
  if (first) {
    const code = first.extensions?.['code'];
    return typeof code === 'string' ? `${code}: ${first.message}` : first.message;
  }
  return error.networkError?.message ?? error.message;
}
