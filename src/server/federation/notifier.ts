/** Wakes the long polls when the federation's state changes. */
export class Notifier {
  private waiters = new Set<() => void>();

  notify(): void {
    const w = [...this.waiters];
    this.waiters.clear();
    for (const f of w) f();
  }

  /** Resolves after notify() or the timeout or an abort, whichever is first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
      if (signal?.aborted) done(); else signal?.addEventListener('abort', done, { once: true });
    });
  }
}
