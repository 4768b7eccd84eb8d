import { token, type ServerProcess } from '../../test/support/server.js';
import type { Mutations } from '../lib/mutations.js';

/** What every scenario against our server works with. */
export interface Bench {
  server: ServerProcess;
  pid: number;
  wsUrl: string;
  /** Of the N customers bench-u0.. */
  tokens: string[];
  admin: string;
  /** How the measured phases send their mutations (--mutations-over). */
  mutations: Mutations;
}

/** Tokens of `count` customers bench-u0.. or admins bench-admin-0.. */
export async function userTokens(count: number, role: 'customer' | 'admin' = 'customer'): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => token({ sub: role === 'admin' ? `bench-admin-${i}` : `bench-u${i}`, role }, '2h')));
}
