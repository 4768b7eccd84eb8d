import type { RoleName } from '../db/types.js';

/** Who is calling, as the verified token says. */
export interface Viewer {
  id: string;
  role: RoleName;
  displayName: string;
  /** Set exactly when role is PARTNER. */
  partnerId: string | null;
  partnerName: string | null;
  /** Token expiry, seconds since the epoch. */
  expiresAt: number;
}
