/**
 * `fedman serve --config server.json --state <dir>`: runs one federation over HTTP (src/server/, protocol in
 * docs/protocol.md). Restarting with the same --state resumes it exactly where it stopped, also after SIGKILL.
 * Prints `listening on <url>` on stdout once ready; logs (pino JSON) go to stderr.
 */
import type { Command } from 'commander';
import type { FastifyInstance } from 'fastify';
import type { BuildAppOptions } from '../../server/app.js';
import { FedmanError } from '../../util/errors.js';
import { int } from '../parse.js';

export interface ServeOptions {
  config: string;
  state: string;
  host: string;
  port: number;
  logLevel: string;
  exitWhenDone?: boolean;
  printConfig?: boolean;
  /** Further plugins (model serving, dashboard), see BuildAppOptions.extend. */
  extend?: BuildAppOptions['extend'];
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Starts the server; resolves once it has been closed (signal, or --exit-when-done). */
export async function serve(o: ServeOptions): Promise<void> {
  // The server's modules (Fastify, pino, prom-client, the config schema) load here rather than with the CLI: they
  // are ~40% of the start-up of every other command, `fedman --help` included.
  const [{ pino }, { buildApp }, { readConfigFile, validateServerConfig }, { createMetrics }, { withPages }] = await Promise.all([
    import('pino'), import('../../server/app.js'), import('../../config/index.js'), import('../../server/metrics.js'), import('../../web/pages.js'),
  ]);
  const raw = await readConfigFile(o.config);
  const config = validateServerConfig(raw, `config '${o.config}'`);
  if (o.printConfig) {
    process.stdout.write(JSON.stringify(config, null, 2) + '\n');
    return;
  }
  const logger = pino({ level: o.logLevel, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
  // The dashboard and browser-client pages, then any plugins of the embedding program.
  const pages = withPages();
  const extend: BuildAppOptions['extend'] = async (app, ctx) => { await pages(app); await o.extend?.(app, ctx); };
  const { app, federation } = await buildApp({ config, stateDir: o.state, logger, metrics: createMetrics({ defaultMetrics: true }), extend });
  let closing: Promise<void> | null = null;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => { resolveClosed = resolve; });
  const close = (why: string) => {
    if (!closing) {
      logger.info({ why }, 'shutting down');
      closing = (app as FastifyInstance).close().then(() => resolveClosed(), (err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        resolveClosed();
      });
    }
    return closing;
  };
  const onSignal = (sig: NodeJS.Signals) => { void close(sig); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let url: string;
  try {
    url = await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await app.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new FedmanError(`cannot listen on ${o.host}:${o.port}: the address is in use (EADDRINUSE)`);
    if (e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES') throw new FedmanError(`cannot listen on ${o.host}:${o.port}: ${e.code}`);
    throw err;
  }
  process.stdout.write(`listening on ${url}\n`);
  if (o.exitWhenDone) {
    federation.onDone(() => {
      // Give every client the chance to hear 'done' (at most 30 s), then leave.
      const t0 = Date.now();
      const timer = setInterval(() => {
        if (federation.allClientsToldDone() || Date.now() - t0 > 30_000) {
          clearInterval(timer);
          void close('federation finished (--exit-when-done)');
        }
      }, 200);
    });
  }
  await closed;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

/**
 * Adds `fedman serve`. `opts.extend` registers further plugins on every server it starts, after the pages (model
 * serving /v2 is built in): `registerServe(program, { extend: (app, ctx) => app.register(myPlugin, ctx) })`.
 */
export function registerServe(program: Command, opts: { extend?: BuildAppOptions['extend'] } = {}): void {
  program
    .command('serve')
    .description('run a federation server (HTTP; clients connect with `fedman client`); resumable from its state directory')
    .requiredOption('--config <server.json>', 'federation config (JSON; see docs/protocol.md and src/config/server.ts)')
    .requiredOption('--state <dir>', 'state directory (artifacts, checkpoints, accepted updates, model versions); reuse it to resume')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port; the URL is printed)', int('--port'), 0)
    .option('--log-level <level>', `log level: ${LEVELS.join(', ')}`, 'info')
    .option('--exit-when-done', 'exit once every round is done and every client has been told so')
    .option('--print-config', 'print the resolved config (every default filled in) and exit')
    .action(async (o: ServeOptions) => {
      if (!LEVELS.includes(o.logLevel)) throw new FedmanError(`--log-level: expected one of ${LEVELS.join(', ')}, got '${o.logLevel}'`);
      await serve({ ...o, extend: opts.extend });
    });
}
