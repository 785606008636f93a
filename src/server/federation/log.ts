/** The logger the federation writes to: pino's call shape (the server passes its logger), or nothing. */
export interface LogFn {
  (msg: string): void;
  (obj: object, msg?: string): void;
}

export interface Log {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  debug: LogFn;
}

const nothing: LogFn = () => {};

export const silentLog: Log = { info: nothing, warn: nothing, error: nothing, debug: nothing };
