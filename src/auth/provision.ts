import type { Db } from '../db/client.js';
import { provisionViewer } from '../db/users.js';
import type { Viewer } from './viewer.js';

/**
 * Provisions each distinct identity once per process: a request with the same
 * claims as the last one costs no write.
 */
export function createProvisioner(db: Db, capacity = 10_000): (viewer: Viewer) => Promise<void> {
  const seen = new Map<string, string>();
  return async (viewer) => {
    const fingerprint = `${viewer.role}\u0000${viewer.displayName}\u0000${viewer.partnerId}\u0000${viewer.partnerName}`;
    if (seen.get(viewer.id) === fingerprint) return;
    await provisionViewer(db, viewer);
    if (seen.size >= capacity) seen.delete(seen.keys().next().value!);
    seen.set(viewer.id, fingerprint);
  };
}
