import type { RoleName } from '../db/types.js';

/** Who is calling, as the verified token says. Shared between requests with the same token: never mutated. */
export interface Viewer {
  readonly id: string;
  readonly role: RoleName;
  readonly displayName: string;
  /** Set exactly when role is PARTNER. */
  readonly partnerId: string | null;
  readonly partnerName: string | null;
  /** Token expiry, seconds since the epoch. */
  readonly expiresAt: number;
}
