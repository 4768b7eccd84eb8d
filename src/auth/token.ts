import { SignJWT } from 'jose';

export interface TokenClaims {
  sub: string;
  role: 'customer' | 'partner' | 'admin';
  name?: string;
  partner_id?: string;
  partner_name?: string;
}

/** Signs an HS256 token: for the development secret, tests and the seed script. */
export async function signToken(secret: Uint8Array, claims: TokenClaims, expiresIn: string | number = '12h'): Promise<string> {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(secret);
}
