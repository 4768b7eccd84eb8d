import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { REQUEST_FACTS, type RequestFacts } from '../basics/server-context.js';

/** The fetch API whose Request the body methods this class does not cover fall back to. */
interface FetchApi {
  Request: typeof Request;
}

/**
 * The fetch Request Yoga gets for a node:http request whose body was already
 * read (request-body.ts): the request's own headers, method and bytes, with
 * nothing built that nobody asks for.
 *
 * The server adapter's own conversion (`normalizeNodeRequest`) builds, for
 * every request, the full URL, a ponyfill Request with a Headers copy, an
 * abort signal with three listeners on the response, and parses the URL
 * (the adapter reads `parsedUrl`, which parses); with `Object.keys` over a
 * Buffer body on the way, one string per byte. Together about a tenth of
 * the CPU of a small request (bench/http.ts). Here the URL is a string,
 * the headers are read where they lie, and the abort signal exists once
 * something asks for it (a stream does: aborted-streams.ts).
 *
 * Multipart bodies (uploads) do not come here: they stream to the fetch
 * API's own parser. formData() and body still work, through a Request of
 * that fetch API, for whatever plugin asks.
 */
export class NodeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: NodeHeaders;
  /** What the transport knows of the request, for the plugins and the context factory (basics/server-context.ts). */
  readonly [REQUEST_FACTS]: RequestFacts;
  private controller: AbortController | null = null;
  private fetchRequest: Request | null = null;

  constructor(
    private readonly incoming: IncomingMessage,
    private readonly response: ServerResponse,
    private readonly bodyBytes: Buffer | null,
    private readonly fetchApi: FetchApi,
    facts: RequestFacts,
  ) {
    this[REQUEST_FACTS] = facts;
    this.method = incoming.method ?? 'GET';
    this.url = `http://${incoming.headers.host ?? 'localhost'}${incoming.url ?? '/'}`;
    this.headers = new NodeHeaders(incoming.headers);
  }

  // Fetch's defaults, for code that copies a Request field by field; on the prototype, not in every request.
  get cache(): RequestCache {
    return 'default';
  }
  get credentials(): RequestCredentials {
    return 'same-origin';
  }
  get destination(): RequestDestination {
    return '';
  }
  get integrity(): string {
    return '';
  }
  get keepalive(): boolean {
    return false;
  }
  get mode(): RequestMode {
    return 'cors';
  }
  get redirect(): RequestRedirect {
    return 'follow';
  }
  get referrer(): string {
    return 'about:client';
  }
  get referrerPolicy(): ReferrerPolicy {
    return '';
  }

  /** Aborted when the client goes away before its response is finished, as the adapter's own signal is. */
  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    const abort = () => {
      if (!this.response.writableFinished) controller.abort(this.response.errored ?? undefined);
    };
    // Not the request's `destroyed`: a read body's IncomingMessage is destroyed once it ended.
    if (this.response.closed) abort();
    else this.response.once('close', abort);
    return controller.signal;
  }

  get bodyUsed(): boolean {
    return false;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.asFetchRequest().body;
  }

  text(): Promise<string> {
    return Promise.resolve(this.bodyBytes ? this.bodyBytes.toString('utf8') : '');
  }

  json(): Promise<unknown> {
    return this.text().then((text) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        // Yoga's parser turns the SyntaxError into its 400; the message as the fetch API's own Request words it.
        if (error instanceof SyntaxError) error.message += `, "${text}" is not valid JSON`;
        throw error;
      }
    });
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.copyOfBytes().buffer);
  }

  bytes(): Promise<Uint8Array> {
    return Promise.resolve(this.copyOfBytes());
  }

  formData(): Promise<FormData> {
    return this.asFetchRequest().formData();
  }

  blob(): Promise<Blob> {
    return this.asFetchRequest().blob();
  }

  clone(): NodeRequest {
    return new NodeRequest(this.incoming, this.response, this.bodyBytes, this.fetchApi, this[REQUEST_FACTS]);
  }

  private copyOfBytes(): Uint8Array<ArrayBuffer> {
    const copy = new Uint8Array(this.bodyBytes?.length ?? 0);
    if (this.bodyBytes) copy.set(this.bodyBytes);
    return copy;
  }

  private asFetchRequest(): Request {
    this.fetchRequest ??= new this.fetchApi.Request(this.url, {
      method: this.method,
      headers: this.headers.entriesList(),
      body: this.method === 'GET' || this.method === 'HEAD' ? null : this.copyOfBytes(),
    });
    return this.fetchRequest;
  }
}

/** Fetch Headers over node's parsed request headers (lower-case names; repeated ones joined as fetch joins them). */
export class NodeHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }

  set(name: string, value: string): void {
    this.raw[name.toLowerCase()] = value;
  }

  append(name: string, value: string): void {
    const existing = this.get(name);
    this.set(name, existing === null ? value : `${existing}, ${value}`);
  }

  delete(name: string): void {
    delete this.raw[name.toLowerCase()];
  }

  getSetCookie(): string[] {
    const value = this.raw['set-cookie'];
    return value === undefined ? [] : [...value];
  }

  forEach(callback: (value: string, name: string, headers: NodeHeaders) => void): void {
    for (const [name, value] of this.entriesList()) callback(value, name, this);
  }

  entriesList(): [string, string][] {
    const list: [string, string][] = [];
    for (const name of Object.keys(this.raw).sort()) {
      const value = this.get(name);
      if (value !== null) list.push([name, value]);
    }
    return list;
  }

  entries(): IterableIterator<[string, string]> {
    return this.entriesList()[Symbol.iterator]();
  }

  keys(): IterableIterator<string> {
    return this.entriesList()
      .map(([name]) => name)
      [Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    return this.entriesList()
      .map(([, value]) => value)
      [Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}
