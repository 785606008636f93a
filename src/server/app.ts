/**
 * Builds the fedman server: one Fastify app, one federation, plugins per concern.
 *
 *   cross-cutting (root, apply to every route):  JSON errors (errors.ts), CORS (cors.ts), bearer auth by route
 *                                                scope (auth.ts), request metrics
 *   plugins (encapsulated):                      federation protocol /v1 (plugins/federation.ts)
 *                                                admin /v1/admin (plugins/admin.ts)
 *                                                Prometheus /metrics (plugins/metrics.ts)
 *                                                model serving /v2 (src/server/inference/; `inference: false` omits it)
 *   through `extend`:                            the dashboard and browser-client pages (src/web/pages.ts, a layer
 *                                                above the server), as `fedman serve` adds them
 *
 * Plugins reach the shared pieces through `app.fedman` ({config, federation, models, metrics, auth}) or their
 * options. A route declares its token scope with `config: { scope: 'client' | 'inference' | 'admin' }`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifySchema } from 'fastify';
import { TokenAuth, installAuth, type Scope } from './auth.js';
import type { ServerConfig } from '../config/index.js';
import { installCors } from './cors.js';
import { installErrorHandling, schemaErrorFormatter, sendError } from './errors.js';
import { Federation } from './federation/index.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import type { ModelVersions } from './model-versions.js';
import { adminRoutes } from './plugins/admin.js';
import { federationRoutes } from './plugins/federation.js';
import { metricsRoutes } from './plugins/metrics.js';
import { inferencePlugin, type InferencePluginOptions } from './inference/plugin.js';

/** What every plugin can use (also decorated on the app as `app.fedman`). */
export interface FedmanContext {
  config: ServerConfig;
  federation: Federation;
  /** Model versions (one per completed round; version 0 = the initial model) with onNewVersion for hot swaps. */
  models: ModelVersions;
  metrics: ServerMetrics;
  auth: TokenAuth;
}

declare module 'fastify' {
  interface FastifyInstance {
    fedman: FedmanContext;
  }
}

export interface BuildAppOptions {
  config: ServerConfig;
  /** State directory (created if missing; resumed if it holds a federation). */
  stateDir: string;
  /** A pino logger; false or undefined: silent. */
  logger?: FastifyBaseLogger | false;
  /** Metrics registry (default: a fresh one). */
  metrics?: ServerMetrics;
  /** Environment for 'env:' tokens (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * Registers further plugins after the built-in ones: the pages (`extend: withPages()` from src/web/pages.ts, as
   * `fedman serve` does), or an app's own, e.g. `extend: (app, ctx) => app.register(myPlugin, ctx)`.
   */
  extend?: (app: FastifyInstance, ctx: FedmanContext) => Promise<unknown> | unknown;
  /**
   * Model serving (Open Inference Protocol /v2 for the global model's versions): overrides the config's `serving`
   * block; options such as dynamic batching, or false to leave it out.
   */
  inference?: false | Omit<InferencePluginOptions, 'models' | 'metrics'>;
}

/** One route of the app, as registered (docs/protocol.md lists them; a test keeps the two equal). */
export interface RouteInfo {
  method: string;
  url: string;
  /** The token scope it needs (null: public). */
  scope: Scope | null;
  schema: FastifySchema | undefined;
}

export interface FedmanApp extends FedmanContext {
  app: FastifyInstance;
  /** Every route of the app (HEAD routes, which Fastify adds to each GET, left out). */
  routes: RouteInfo[];
}

export async function buildApp(opts: BuildAppOptions): Promise<FedmanApp> {
  const { config } = opts;
  const auth = new TokenAuth(config.tokens, opts.env);
  const metrics = opts.metrics ?? createMetrics();
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.jsonBodyBytes,
    schemaErrorFormatter,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    return503OnClosing: true,
    // Router-level rejections (bad percent-encoding: 400, an over-long parameter: 414) also answer `{error}`.
    frameworkErrors: (err, req, reply) => { sendError(err, req, reply); },
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;
  const log = app.log;
  const federation = await Federation.open({ stateDir: opts.stateDir, config, log, metrics });
  const ctx: FedmanContext = { config, federation, models: federation.models, metrics, auth };
  const routes: RouteInfo[] = [];
  try {
    app.addHook('onRoute', (r) => {
      for (const method of [r.method].flat()) {
        if (method !== 'HEAD') routes.push({ method, url: r.url, scope: (r.config as { scope?: Scope } | undefined)?.scope ?? null, schema: r.schema });
      }
    });
    app.decorate('fedman', ctx);
    installErrorHandling(app);
    installCors(app, { origins: config.cors.origins });
    installAuth(app, auth);
    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? '(unmatched)';
      metrics.httpRequests.inc({ method: req.method, route, code: String(reply.statusCode) });
    });
    // Wake long polls before the server waits for in-flight requests; release the state once it has.
    app.addHook('preClose', async () => { federation.beginClose(); });
    app.addHook('onClose', async () => { await federation.close(); });

    await app.register(federationRoutes, { federation });
    await app.register(adminRoutes, { federation });
    await app.register(metricsRoutes, { metrics, public: config.publicMetrics });
    // Model serving (Open Inference Protocol /v2, src/server/inference/), on every server unless turned off.
    const serving = opts.inference ?? (config.serving.enabled
      ? { threads: config.serving.threads, device: config.serving.device, ...(config.serving.batching ? { batching: config.serving.batching } : {}) }
      : false);
    if (serving !== false) await app.register(inferencePlugin, { ...serving, models: ctx.models, metrics: ctx.metrics });
    // Further plugins (the pages) plug in through `extend`.
    if (opts.extend) await opts.extend(app, ctx);
    await app.ready();
    const open = auth.openScopes();
    if (open.length) log.warn({ scopes: open }, 'no tokens configured for these scopes: they are open to anyone who can reach the server');
  } catch (err) {
    await federation.close();
    throw err;
  }
  return { app, routes, ...ctx };
}
