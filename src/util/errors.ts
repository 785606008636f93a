/**
 * A user-facing error: the CLI prints its message (no stack trace) and exits non-zero.
 * Use it for anything a user can fix: a bad file, an unsupported op, a wrong flag.
 */
export class FedmanError extends Error {
  constructor(message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'FedmanError';
  }
}

export const DOCS_OPS_LINK = 'docs/ops.md';

/** Whether a file-system error means "no space left" (full disk or quota): transient, worth retrying later. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
