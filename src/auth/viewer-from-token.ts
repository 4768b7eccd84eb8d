import type { Db } from '../db/client.js';
import { createProvisioner } from './provision.js';
import type { TokenVerifier } from './verify.js';
import type { Viewer } from './viewer.js';

/** No token: an anonymous caller (null). A token: its verified viewer, provisioned. Throws TokenError for a bad one. */
export type ViewerFromToken = (token: string | null) => Promise<Viewer | null>;

/** Who calls, for every transport: a verified token's viewer, whose user row exists before any resolver runs. */
export function createViewerFromToken(verifyToken: TokenVerifier, db: Db): ViewerFromToken {
  const provision = createProvisioner(db);
  return async (token) => {
    if (token === null) return null;
    const viewer = await verifyToken(token);
    await provision(viewer);
    return viewer;
  };
}
