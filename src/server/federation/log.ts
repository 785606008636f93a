/** The logger the federation writes to (the server's pino logger, or nothing). */
import type { FastifyBaseLogger } from 'fastify';

export type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error' | 'debug'>;

export const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as Log;
