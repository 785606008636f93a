/**
 * Admin endpoints (scope `admin`): federation status, pause/resume/stop, model versions and export.
 */
import path from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { ControlResponse, ERROR_RESPONSES, FederationStatus, MODEL_VERSION_HEADER, ModelExportQuery, ModelsResponse } from '../../protocol/index.js';
import { HttpError } from '../errors.js';
import { BINARY_RESPONSE, sendBinary } from '../binary.js';
import type { Federation } from '../federation/index.js';

export interface AdminRoutesOptions {
  federation: Federation;
}

export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (root, { federation: fed }) => {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const control = () => {
    const s = fed.status();
    return { phase: s.phase, paused: s.paused, stopped: s.stopped, completedRounds: s.completedRounds };
  };

  app.get('/v1/admin/status', {
    config: { scope: 'admin' },
    schema: { response: { 200: FederationStatus, ...ERROR_RESPONSES } },
    // A diverged run's records hold non-finite numbers (null once checkpointed): JSON.stringify writes them as null,
    // where the schema serialiser would write 0 or fail. The schema still documents the message.
    serializerCompiler: () => (data) => JSON.stringify(data),
  }, async () => fed.status());

  const noBody = { response: { 200: ControlResponse, ...ERROR_RESPONSES } };
  app.post('/v1/admin/pause', { config: { scope: 'admin' }, schema: noBody }, async () => { await fed.pause(); return control(); });
  app.post('/v1/admin/resume', { config: { scope: 'admin' }, schema: noBody }, async () => { await fed.resume(); return control(); });
  app.post('/v1/admin/stop', { config: { scope: 'admin' }, schema: noBody }, async () => { await fed.stop(); return control(); });

  app.get('/v1/admin/models', {
    config: { scope: 'admin' },
    schema: { response: { 200: ModelsResponse, ...ERROR_RESPONSES } },
  }, async () => ({ versions: fed.models.list() }));

  app.get('/v1/admin/model', {
    config: { scope: 'admin' },
    schema: { querystring: ModelExportQuery, response: { ...BINARY_RESPONSE, ...ERROR_RESPONSES } },
  }, async (req, reply) => {
    const v = req.query.version === undefined ? fed.models.latest() : fed.models.get(req.query.version);
    if (!v) throw new HttpError(404, `no model version ${req.query.version ?? ''} (have ${fed.models.list().map((x) => x.version).join(', ') || 'none'})`.replace('  ', ' '));
    const file = req.query.format === 'params' ? v.paramsPath : v.onnxPath;
    reply.header(MODEL_VERSION_HEADER, String(v.version));
    return sendBinary(req, reply, {
      file, etag: `"${req.query.format}-v${v.version}"`, cacheControl: 'private, max-age=31536000, immutable',
      disposition: `attachment; filename="${v.model}-v${v.version}${path.extname(file)}"`,
    });
  });
};
