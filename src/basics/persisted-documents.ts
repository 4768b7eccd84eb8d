import { createHash } from 'node:crypto';

/**
 * The documents of a `persisted-documents.json` (TRUSTED_DOCUMENTS), as the
 * GraphQL Code Generator client preset writes it: `{ "<id>": "<document text>" }`,
 * each id the sha256 hex of its text, written bare or as `sha256:<hex>` (the
 * GraphQL-over-HTTP persisted documents form the preset uses).
 */
export class PersistedDocuments {
  private constructor(private readonly byHash: ReadonlyMap<string, string>) {}

  /** The text of the document with this id (either form), or null. */
  get(id: string): string | null {
    return this.byHash.get(id.startsWith(SHA256_PREFIX) ? id.slice(SHA256_PREFIX.length) : id) ?? null;
  }

  /** The documents of a file's text, or why it is not such a file. */
  static parse(json: string): PersistedDocuments | { invalid: string } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      return { invalid: `is not JSON (${(error as Error).message})` };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { invalid: 'must hold a JSON object of document id → document text' };
    const byHash = new Map<string, string>();
    for (const [id, text] of Object.entries(parsed)) {
      if (typeof text !== 'string' || text.trim() === '') return { invalid: `maps "${id}" to ${typeof text === 'string' ? 'an empty string' : typeof text}, not a document's text` };
      const hash = sha256Hex(text);
      // A mismatch means the file was edited by hand or made by another hash: clients would send ids it does not have.
      if (id !== hash && id !== SHA256_PREFIX + hash) return { invalid: `has the id "${id}" for a document whose sha256 is ${hash}` };
      byHash.set(hash, text);
    }
    if (byHash.size === 0) return { invalid: 'lists no documents: every request would be refused' };
    return new PersistedDocuments(byHash);
  }
}

const SHA256_PREFIX = 'sha256:';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
