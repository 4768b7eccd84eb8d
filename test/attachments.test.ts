import { request as httpRequestRaw } from 'node:http';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUrlSigner } from '../src/attachments/signed-url.js';
import { ConversationExtrasDocument, RichMessageAddedDocument, SendRichMessageDocument, type SendRichMessageMutation } from './generated/graphql.js';
import { httpData, wsConnect, type GraphQLErrorShape, type WsConnection } from './support/clients.js';
import { BACKENDS, startTestServer, type TestServer } from './support/server.js';
import { newPeople, openDirect, type Person } from './support/world.js';

const SECRET = 'attachment-test-secret-0123456789-abcdef';
const MAX_BYTES = 64 * 1024;
const PER_MESSAGE = 2;
/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const ZIP = Buffer.from('504b0304140000000800000021000000000000000000000000000000', 'hex');

interface FileToSend {
  name: string;
  bytes: Buffer;
  /** What the client claims; the server goes by the bytes. */
  type?: string;
}

type UploadResult = { status: number; data?: SendRichMessageMutation | null; errors?: GraphQLErrorShape[] };

/** Attachments: contract part "chat", Attachments. */
describe.each(BACKENDS)('attachments on %s', (backend) => {
  let t: TestServer;
  const sockets: WsConnection[] = [];
  const people = newPeople(() => t, 'att');

  /** sendMessage as a GraphQL multipart request (operations, map, one part per file), as Apollo Upload Client sends it. */
  async function upload(user: Person, conversationId: string, body: string, files: FileToSend[]): Promise<UploadResult> {
    const form = new FormData();
    const variables = { input: { conversationId, body, attachments: files.map(() => null) } };
    form.append('operations', JSON.stringify({ query: print(SendRichMessageDocument), variables }));
    form.append('map', JSON.stringify(Object.fromEntries(files.map((_, i) => [String(i), [`variables.input.attachments.${i}`]]))));
    files.forEach((file, i) => form.append(String(i), new Blob([new Uint8Array(file.bytes)], { type: file.type ?? 'application/octet-stream' }), file.name));
    const response = await fetch(t.url, { method: 'POST', headers: { authorization: `Bearer ${user.token}` }, body: form });
    return { status: response.status, ...((await response.json()) as Omit<UploadResult, 'status'>) };
  }

  async function stored() {
    const [row] = await t.sql<{ messages: number; attachments: number }>(
      'select (select count(*)::int from messages) as messages, (select count(*)::int from message_attachments) as attachments',
    );
    return row!;
  }

  function refusedField(result: UploadResult): unknown {
    expect(result.errors?.[0]?.extensions?.['code']).toBe('BAD_USER_INPUT');
    return result.errors![0]!.extensions!['field'];
  }

  beforeAll(async () => {
    t = await startTestServer(backend, {
      ATTACHMENT_URL_SECRET: SECRET,
      ATTACHMENT_MAX_BYTES: String(MAX_BYTES),
      ATTACHMENTS_PER_MESSAGE: String(PER_MESSAGE),
    });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await t?.stop();
  });

  it('stores files with their message, types them from the bytes, and serves them by signed URL', async () => {
    const ann = await people.customer();
    const bob = await people.customer();
    const conversationId = await openDirect(t, ann, bob);
    const socket = wsConnect(t.url, { authorization: `Bearer ${bob.token}` });
    sockets.push(socket);
    const bobLive = socket.subscribe(RichMessageAddedDocument, { conversationId, since: '1' });

    // The client claims text for the image and gives a path: the server keeps the detected type and the base name.
    const sent = await upload(ann, conversationId, '', [
      { name: 'C:\\Users\\ann\\photos/done.png', bytes: PNG, type: 'text/plain' },
      { name: 'invoice.pdf', bytes: PDF, type: 'application/pdf' },
    ]);
    expect(sent.errors).toBeUndefined();
    const message = sent.data!.sendMessage;
    expect(message.body).toBe('');
    expect(message.attachments.map(({ fileName, contentType, sizeBytes }) => ({ fileName, contentType, sizeBytes }))).toEqual([
      { fileName: 'done.png', contentType: 'image/png', sizeBytes: PNG.length },
      { fileName: 'invoice.pdf', contentType: 'application/pdf', sizeBytes: PDF.length },
    ]);

    const [image, pdf] = message.attachments;
    const imageResponse = await fetch(image!.url);
    expect(imageResponse.status).toBe(200);
    expect(Buffer.from(await imageResponse.arrayBuffer()).equals(PNG)).toBe(true);
    expect(imageResponse.headers.get('content-type')).toBe('image/png');
    expect(imageResponse.headers.get('x-content-type-options')).toBe('nosniff');
    expect(imageResponse.headers.get('content-disposition')).toMatch(/^inline; filename="done\.png"/);
    expect(imageResponse.headers.get('cache-control')).toMatch(/^private/);
    const pdfResponse = await fetch(pdf!.url);
    expect(pdfResponse.headers.get('content-disposition')).toMatch(/^attachment; filename="invoice\.pdf"/);
    expect(Buffer.from(await pdfResponse.arrayBuffer()).equals(PDF)).toBe(true);

    // The other side gets the message live (over graphql-ws) with working URLs of its own.
    const live = (await bobLive.next()).messageAdded;
    expect(live.id).toBe(message.id);
    const overWs = await fetch(live.attachments[0]!.url);
    expect(Buffer.from(await overWs.arrayBuffer()).equals(PNG)).toBe(true);

    // Plain UTF-8 text is text; a read gives a URL of its own.
    const text = await upload(ann, conversationId, 'notes', [{ name: 'notes.txt', bytes: Buffer.from('Käse, 2 × 3 €\n') }]);
    expect(text.data!.sendMessage.attachments[0]!.contentType).toBe('text/plain; charset=utf-8');
    const history = (await httpData(t.url, ConversationExtrasDocument, { id: conversationId }, bob.token)).conversation!;
    expect(history.messages.edges.map((edge) => edge.node.attachments.length)).toEqual([1, 2]);
  });

  it('refuses a wrong type, a file too large and too many files, and stores nothing', async () => {
    const ann = await people.customer();
    const bob = await people.customer();
    const conversationId = await openDirect(t, ann, bob);
    const before = await stored();
    const binary = Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0, 0]);
    const refusals = [
      await upload(ann, conversationId, 'zip', [{ name: 'a.zip', bytes: ZIP, type: 'image/png' }]),
      await upload(ann, conversationId, 'bin', [{ name: 'a.bin', bytes: binary }]),
      await upload(ann, conversationId, 'one bad of two', [{ name: 'ok.png', bytes: PNG }, { name: 'bad.bin', bytes: binary }]),
      await upload(ann, conversationId, 'big', [{ name: 'big.txt', bytes: Buffer.alloc(MAX_BYTES + 1, 'a') }]),
      await upload(ann, conversationId, 'many', [
        { name: '1.png', bytes: PNG },
        { name: '2.png', bytes: PNG },
        { name: '3.png', bytes: PNG },
      ]),
    ];
    for (const refused of refusals) expect(refusedField(refused)).toBe('input.attachments');
    // A file of exactly the limit passes.
    expect((await upload(ann, conversationId, 'edge', [{ name: 'edge.txt', bytes: Buffer.alloc(MAX_BYTES, 'a') }])).errors).toBeUndefined();
    const after = await stored();
    expect(after).toEqual({ messages: before.messages + 1, attachments: before.attachments + 1 });
    // No body and no file: the body is required.
    expect(refusedField(await upload(ann, conversationId, '  ', []))).toBe('input.body');
  });

  it('refuses a file over the limit while it streams in, and a body declared too large before reading it', async () => {
    const ann = await people.customer();
    const bob = await people.customer();
    const conversationId = await openDirect(t, ann, bob);
    const before = await stored();
    const boundary = 'streamingboundary';
    const operations = JSON.stringify({
      query: print(SendRichMessageDocument),
      variables: { input: { conversationId, body: 'huge', attachments: [null] } },
    });
    const head =
      `--${boundary}\r\ncontent-disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.attachments.0"]}\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="0"; filename="huge.txt"\r\ncontent-type: text/plain\r\n\r\n`;
    const offered = 64 * 1024 * 1024;
    const { status, body, written } = await new Promise<{ status: number; body: string; written: number }>((resolve, reject) => {
      const request = httpRequestRaw(t.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${ann.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      let written = 0;
      let answered = false;
      request.on('response', (response) => {
        answered = true;
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode!, body, written }));
      });
      // Once the server has answered and closed, writes fail: expected.
      request.on('error', (error) => (answered ? undefined : reject(error)));
      request.write(head);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = () => {
        while (!answered && written < offered) {
          written += chunk.length;
          if (!request.write(chunk)) return void request.once('drain', pump);
        }
        if (!answered) request.end();
      };
      pump();
    });
    expect(status).toBeLessThan(500);
    expect((JSON.parse(body) as { errors: GraphQLErrorShape[] }).errors[0]!.extensions?.['field']).toBe('input.attachments');
    // The answer came long before the client could send it all: the server stopped reading at the limit.
    expect(written).toBeLessThan(offered / 4);

    // Declared larger than any multipart body may be: refused from the headers, unread.
    const declared = await new Promise<number>((resolve, reject) => {
      const request = httpRequestRaw(t.url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ann.token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(2 * 1024 * 1024 * 1024),
        },
      });
      request.on('response', (response) => {
        response.resume();
        resolve(response.statusCode!);
        request.destroy();
      });
      request.on('error', () => {});
      request.write(head, (error) => error && reject(error));
    });
    expect(declared).toBe(413);
    expect(await stored()).toEqual(before);
  });

  it('answers 404 for a tampered, expired or forged URL, and never gives a stranger one', async () => {
    const ann = await people.customer();
    const bob = await people.customer();
    const eve = await people.customer();
    const conversationId = await openDirect(t, ann, bob);
    const sent = (await upload(ann, conversationId, 'photo', [{ name: 'p.png', bytes: PNG }])).data!.sendMessage;
    const good = new URL(sent.attachments[0]!.url);
    expect((await fetch(good)).status).toBe(200);
    const id = good.pathname.split('/').pop()!;

    const signature = good.searchParams.get('signature')!;
    const tampered = new URL(good);
    tampered.searchParams.set('signature', `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`);
    const otherId = new URL(good);
    otherId.pathname = `/files/${BigInt(id) + 1n}`;
    const longer = new URL(good);
    longer.searchParams.set('expires', String(Number(good.searchParams.get('expires')) + 3600));
    // Signed with the right key, but its time is up.
    const expiredPath = fileUrlSigner(SECRET, 600, () => Date.now() - 11 * 60 * 1000).sign(id, null);
    const expired = new URL(expiredPath, good);
    const unsigned = new URL(`/files/${id}`, good);
    for (const url of [tampered, otherId, longer, expired, unsigned]) {
      const response = await fetch(url);
      expect(response.status).toBe(404);
      expect(await response.text()).toBe('Not found');
    }
    expect((await fetch(good, { method: 'POST' })).status).toBe(404);

    // A stranger reads nothing of the conversation (so no URL), and cannot send files into it.
    expect((await httpData(t.url, ConversationExtrasDocument, { id: conversationId }, eve.token)).conversation).toBeNull();
    const before = await stored();
    const intruding = await upload(eve, conversationId, 'hi', [{ name: 'p.png', bytes: PNG }]);
    expect(intruding.errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    expect(await stored()).toEqual(before);
  });
});
