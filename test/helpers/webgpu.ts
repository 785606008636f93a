/**
 * WebGPU in tests: ONNX Runtime's WebGPU EP on SwiftShader, the software Vulkan driver Debian's chromium package
 * ships (CI installs chromium and libvulkan1), unless VK_ICD_FILENAMES already names a driver. Slow and exact:
 * tests use it for placement and correctness only.
 *
 * Node placement is read from ORT's verbose session log ("Node(s) placed on [CPUExecutionProvider]. Number of
 * nodes: N" followed by the nodes), which the native library writes to stderr: a child process creates the
 * sessions, each with its own log id, and the parent picks each session's lines by that id.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Points the Vulkan loader at SwiftShader (call before the first WebGPU session of the process). */
export function useSwiftShader(): void {
  if (!process.env.VK_ICD_FILENAMES) {
    if (!existsSync(SWIFTSHADER_ICD)) throw new Error(`no SwiftShader at ${SWIFTSHADER_ICD}: install Debian's chromium and libvulkan1 (.ci/run does), or set VK_ICD_FILENAMES to a Vulkan driver`);
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  process.env.XDG_RUNTIME_DIR ??= os.tmpdir();
}

export interface Placement {
  /** Nodes ORT placed on the CPU EP, as "OpType (name)". */
  cpu: string[];
  /** Number of nodes on the WebGPU EP. */
  webgpu: number;
}

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'webgpu-placement-child.mjs');

/** Creates a WebGPU session for each model in a child process and returns where ORT placed their nodes. */
export async function webgpuPlacement(models: Record<string, Uint8Array>): Promise<Record<string, Placement>> {
  useSwiftShader();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedman-placement-'));
  try {
    const names = Object.keys(models);
    const files = names.map((_, i) => path.join(dir, `m${i}.onnx`));
    await Promise.all(files.map((f, i) => writeFile(f, models[names[i]!]!)));
    // The log goes to a file: through a pipe, bursts of native writes were lost (the child's end is non-blocking).
    const logFile = path.join(dir, 'ort.log');
    const fd = openSync(logFile, 'w');
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [CHILD, ...files], { env: process.env, stdio: ['ignore', fd, fd] });
      child.on('error', reject);
      child.on('close', resolve);
    }).finally(() => closeSync(fd));
    const log = await readFile(logFile, 'utf8');
    if (code !== 0) throw new Error(`placement child exited with ${code}:\n${log.slice(-3000)}`);
    return Object.fromEntries(names.map((name, i) => [name, parsePlacement(log, `m${i}`)]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The placement of the session that logged under `logId`. */
export function parsePlacement(log: string, logId: string): Placement {
  const lines = log.split('\n').filter((l) => l.includes(`:onnxruntime:${logId}, session_state.cc`));
  const out: Placement = { cpu: [], webgpu: 0 };
  let ep = '';
  for (const l of lines) {
    const head = /(All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(l);
    if (head) {
      ep = head[2]!;
      if (ep === 'WebGpuExecutionProvider') out.webgpu += Number(head[3]);
      if (ep === 'CPUExecutionProvider' && head[1] === 'All nodes') out.cpu.push(`all ${head[3]} nodes`);
      continue;
    }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s{2,}(\S+ \(.*\))\s*$/.exec(l);
    if (node && ep === 'CPUExecutionProvider') out.cpu.push(node[1]!);
  }
  if (out.webgpu === 0 && out.cpu.length === 0) {
    const mine = log.split('\n').filter((l) => l.includes(`:onnxruntime:${logId},`));
    throw new Error(`no placement lines for session ${logId} (${mine.length} log lines of it; last: ${mine.slice(-3).join(' | ')})`);
  }
  return out;
}
