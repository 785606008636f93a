/**
 * A TCP proxy on loopback that injects network faults into HTTP/1.1 traffic between clients and a server: it
 * watches request lines going up, and per request may cut the connection after N bytes of the request (an upload
 * cut mid-body), after N bytes of the response (a download cut mid-body), right when the response starts (an
 * acknowledgement lost after the server acted), or stall a direction for a while. `decide` picks the fault per
 * request; `injected` counts what was done.
 */
import net from 'node:net';

export type Fault =
  | { kind: 'cut-request'; afterBytes: number }
  | { kind: 'cut-response'; afterBytes: number }
  | { kind: 'lose-ack' }
  | { kind: 'stall-response'; afterBytes: number; ms: number }
  /** Holds the rest of the request body for `ms`; `onStall` hears of it (e.g. to kill the client meanwhile). */
  | { kind: 'stall-request'; afterBytes: number; ms: number };

export interface RequestInfo { method: string; path: string }

export class FaultyProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  readonly injected: Record<Fault['kind'], number> = { 'cut-request': 0, 'cut-response': 0, 'lose-ack': 0, 'stall-response': 0, 'stall-request': 0 };

  constructor(
    private targetPort: number,
    private readonly decide: (req: RequestInfo) => Fault | null,
    private readonly onStall?: (req: RequestInfo) => void,
  ) {}

  /** Points the proxy at a (restarted) server. */
  retarget(port: number): void { this.targetPort = port; }

  async listen(): Promise<string> {
    this.server = net.createServer((down) => this.handle(down));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(down: net.Socket): void {
    const up = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(down); this.sockets.add(up);
    // After a cut nothing more may pass in either direction, even in the moment before the sockets close.
    let dead = false;
    const kill = () => { dead = true; down.destroy(); up.destroy(); };
    /** Forwards the first `limit - sent` bytes of `chunk` to `to`, counts the fault, and cuts the connection. */
    const cutAfter = (to: net.Socket, chunk: Buffer, sent: number, limit: number, kind: 'cut-request' | 'cut-response') => {
      to.write(chunk.subarray(0, Math.max(0, limit - sent)));
      this.injected[kind]++;
      fault = null;
      dead = true;
      setTimeout(kill, 20);
    };
    down.on('close', () => { this.sockets.delete(down); up.destroy(); });
    up.on('close', () => { this.sockets.delete(up); down.destroy(); });
    down.on('error', kill); up.on('error', kill);
    let fault: Fault | null = null;
    let current: RequestInfo | null = null;
    let reqBytes = 0, resBytes = 0;
    let stalled = false;

    down.on('data', (chunk: Buffer) => {
      if (dead) return;
      const m = /^(GET|POST|PUT|DELETE|HEAD|OPTIONS) (\S+) HTTP\/1\.[01]\r\n/.exec(chunk.subarray(0, 2048).toString('latin1'));
      if (m) { current = { method: m[1]!, path: m[2]! }; fault = this.decide(current); reqBytes = 0; resBytes = 0; }
      if (fault?.kind === 'stall-request' && reqBytes + chunk.length > fault.afterBytes) {
        const keep = Math.max(0, fault.afterBytes - reqBytes);
        up.write(chunk.subarray(0, keep));
        this.injected['stall-request']++;
        const ms = fault.ms, rest = chunk.subarray(keep);
        fault = null;
        down.pause();
        this.onStall?.(current!);
        setTimeout(() => { if (dead) return; reqBytes += chunk.length; up.write(rest); down.resume(); }, ms);
        return;
      }
      if (fault?.kind === 'cut-request' && reqBytes + chunk.length > fault.afterBytes) {
        cutAfter(up, chunk, reqBytes, fault.afterBytes, 'cut-request');
        return;
      }
      reqBytes += chunk.length;
      up.write(chunk);
    });

    up.on('data', (chunk: Buffer) => {
      if (dead) return;
      if (fault?.kind === 'lose-ack') { this.injected['lose-ack']++; fault = null; kill(); return; }
      if (fault?.kind === 'cut-response' && resBytes + chunk.length > fault.afterBytes) {
        cutAfter(down, chunk, resBytes, fault.afterBytes, 'cut-response');
        return;
      }
      if (fault?.kind === 'stall-response' && !stalled && resBytes + chunk.length > fault.afterBytes) {
        stalled = true;
        this.injected['stall-response']++;
        const ms = fault.ms;
        fault = null;
        up.pause();
        setTimeout(() => { if (dead) return; down.write(chunk); resBytes += chunk.length; up.resume(); stalled = false; }, ms);
        return;
      }
      resBytes += chunk.length;
      down.write(chunk);
    });
  }
}
