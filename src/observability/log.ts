import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, pretty = process.env.LOG_PRETTY === '1'): Logger {
  return pino({
    level,
    redact: ['authorization', 'token', '*.authorization', '*.token'],
    ...(pretty ? { transport: { target: 'pino-pretty' } } : {}),
  });
}
