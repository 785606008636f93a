/**
 * `fedman` CLI processes for end-to-end tests and benchmarks: spawn one (stdout/stderr captured), start a server
 * and wait for its `listening on <url>` line, bound any wait in time, and read a process's peak memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNNER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fedman.js');

export interface Proc { child: ChildProcess; exit: Promise<{ code: number | null; signal: string | null }>; out: () => string; err: () => string }

/** Children still running; `killAll` (e.g. in a teardown) ends them. */
export const children = new Set<ChildProcess>();
export function killAll(): void { for (const c of children) c.kill('SIGKILL'); }

/** `bin`: another `fedman` executable, e.g. an installed package's. */
export function startFedman(args: string[], env?: NodeJS.ProcessEnv, bin = RUNNER): Proc {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  children.add(child);
  let out = '', err = '';
  child.stdout!.on('data', (d) => { out += String(d); });
  child.stderr!.on('data', (d) => { err += String(d); });
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  return { child, exit, out: () => out, err: () => err };
}

/** Resolves with `p`, or rejects after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms); })])
    .finally(() => clearTimeout(timer));
}

/** `fedman serve` on loopback; resolves once it prints its URL (retrying a port a killed server still holds). */
export async function startServer(state: string, cfgFile: string, port = 0, extra: string[] = ['--exit-when-done'], bin = RUNNER): Promise<{ proc: Proc; url: string }> {
  for (let attempt = 0; ; attempt++) {
    const proc = startFedman(['serve', '--config', cfgFile, '--state', state, '--port', String(port), '--log-level', 'warn', ...extra], undefined, bin);
    const url = await within(new Promise<string | null>((resolve) => {
      const check = setInterval(() => {
        const m = /listening on (http:\/\/\S+)/.exec(proc.out());
        if (m) { clearInterval(check); resolve(m[1]!); }
      }, 50);
      void proc.exit.then(() => { clearInterval(check); resolve(null); });
    }), 90_000, 'server start');
    if (url) return { proc, url };
    if (attempt < 5 && /EADDRINUSE/.test(proc.err())) { await new Promise((r) => setTimeout(r, 500)); continue; }
    throw new Error(`server exited early: ${proc.err()}`);
  }
}

/** Peak resident memory of a running process (MiB; Linux /proc VmHWM), or NaN. */
/** A server process's /v1/admin/status, or null while it is unreachable or refuses (a restarting server is both). */
export async function adminStatus(url: string, token: string, timeoutMs = 5000): Promise<Record<string, any> | null> {
  try {
    const r = await fetch(`${url}/v1/admin/status`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
    return r.ok ? ((await r.json()) as Record<string, any>) : null;
  } catch { return null; }
}

export function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch { return NaN; }
}
