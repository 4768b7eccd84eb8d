import { importSPKI, jwtVerify, type JWTPayload } from 'jose';
import type { JwtConfig } from '../config.js';
import type { RoleName } from '../db/types.js';
import { SYSTEM_USER_ID } from '../db/users.js';
import type { Viewer } from './viewer.js';

export class TokenError extends Error {
  override name = 'TokenError';
}

const ROLES: Record<string, RoleName> = { customer: 'CUSTOMER', partner: 'PARTNER', admin: 'ADMIN' };

export type TokenVerifier = (token: string) => Promise<Viewer>;

/** Accepts `Bearer <jwt>` or a bare jwt. */
export function tokenFromAuthorization(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const match = /^\s*(?:Bearer\s+)?(\S+)\s*$/i.exec(value);
  return match ? match[1]! : null;
}

export async function createTokenVerifier(config: JwtConfig): Promise<TokenVerifier> {
  const options = {
    requiredClaims: ['exp', 'sub'],
    ...(config.issuer ? { issuer: config.issuer } : {}),
    ...(config.audience ? { audience: config.audience } : {}),
  };
  let verify: (token: string) => Promise<JWTPayload>;
  if (config.kind === 'secret') {
    const key = config.secret;
    verify = async (token) => (await jwtVerify(token, key, { ...options, algorithms: ['HS256'] })).payload;
  } else {
    // One PEM may be RSA or EC; whichever import succeeds decides the algorithm.
    const keys: { alg: 'RS256' | 'ES256'; key: Awaited<ReturnType<typeof importSPKI>> }[] = [];
    for (const alg of config.algorithms) {
      try {
        keys.push({ alg, key: await importSPKI(config.pem, alg) });
      } catch {
        // Not a key of this algorithm's type.
      }
    }
    if (keys.length === 0) throw new Error('JWT_PUBLIC_KEY is neither an RSA nor an EC (P-256) public key');
    verify = async (token) => {
      let lastError: unknown;
      for (const { alg, key } of keys) {
        try {
          return (await jwtVerify(token, key, { ...options, algorithms: [alg] })).payload;
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    };
  }
  const verified = new Map<string, Viewer>();
  return async (token) => {
    // The same bytes verify the same way until they expire: a client sending its
    // token with every request pays for the signature check once.
    const known = verified.get(token);
    if (known && known.expiresAt * 1000 > Date.now()) return known;
    if (known) verified.delete(token);
    let claims: JWTPayload;
    try {
      claims = await verify(token);
    } catch (error) {
      throw new TokenError(`Invalid token: ${(error as Error).message}`);
    }
    const viewer = viewerFromClaims(claims);
    if (verified.size >= VERIFIED_TOKENS_KEPT) verified.delete(verified.keys().next().value!);
    verified.set(token, viewer);
    return viewer;
  };
}

/** Verified tokens remembered per process (oldest forgotten first). */
const VERIFIED_TOKENS_KEPT = 10_000;

function claimText(claims: JWTPayload, name: string): string | null {
  const value = claims[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new TokenError(`Invalid token: claim "${name}" must be a string`);
  return value.trim() || null;
}

export function viewerFromClaims(claims: JWTPayload): Viewer {
  const id = claimText(claims, 'sub');
  if (!id) throw new TokenError('Invalid token: "sub" is required');
  // The author of SYSTEM messages signs in nowhere: a token naming it is as good as forged.
  if (id === SYSTEM_USER_ID) throw new TokenError('Invalid token: signature verification failed');
  const roleClaim = claimText(claims, 'role');
  const role = roleClaim ? ROLES[roleClaim.toLowerCase()] : undefined;
  if (!role) throw new TokenError('Invalid token: "role" must be customer, partner or admin');
  const partnerId = claimText(claims, 'partner_id');
  if (role === 'PARTNER' && !partnerId) throw new TokenError('Invalid token: "partner_id" is required for role partner');
  return {
    id,
    role,
    displayName: claimText(claims, 'name') ?? id,
    partnerId: role === 'PARTNER' ? partnerId : null,
    partnerName: role === 'PARTNER' ? (claimText(claims, 'partner_name') ?? partnerId) : null,
    expiresAt: claims.exp!,
  };
}
