import { GraphQLError } from 'graphql';
import { isUpload } from '../attachments/uploads.js';
import { overHttp, type Context } from '../context.js';
import type { AttachmentRow } from '../db/types.js';
import { builder } from './builder.js';

export const FileScalar = builder.scalarType('File', {
  description: 'A file sent with the GraphQL multipart request spec (multipart/form-data).',
  serialize: () => {
    throw new GraphQLError('File is an input type only');
  },
  parseValue: (value) => {
    if (!isUpload(value)) throw new GraphQLError('File must be a file of a multipart request (multipart/form-data)');
    return value;
  },
});

export const Attachment = builder.objectRef<AttachmentRow>('Attachment').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    fileName: t.exposeString('file_name'),
    contentType: t.exposeString('content_type', { description: 'As detected from the bytes, not as claimed by the client.' }),
    sizeBytes: t.exposeInt('size_bytes'),
    url: t.string({
      description:
        'GET serves the bytes to anyone holding the URL until it expires (at least 10 minutes after it was read); a new read gives a fresh URL.',
      resolve: (row, _args, context) => {
        const signer = context.services.fileUrls;
        // Attachments exist only where a signer was configured; a server restarted without one serves none.
        if (!signer) throw new Error('attachments are off on this server (no ATTACHMENT_URL_SECRET)');
        return signer.sign(row.id, originOf(context));
      },
    }),
  }),
});

/** Where the client reached the API: HTTP from its request, graphql-ws from the upgrade (transport/graphql-ws.ts). */
function originOf(context: Context): string | null {
  if (overHttp(context)) return new URL((context as unknown as { request: Request }).request.url).origin;
  return (context as { wsOrigin?: string }).wsOrigin ?? null;
}
