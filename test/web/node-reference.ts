/**
 * What a browser client's round should have produced: the same task trained on onnxruntime-node (CPU) from the
 * same global model and the client's shard of the federation's data, fetched as the page fetches it.
 */
import type { Test } from 'tap';
import type { FedmanApp } from '../../src/server/app.js';
import { Trainer } from '../../src/runtime/trainer.js';
import { decodeSafetensors } from '../../src/runtime/safetensors.js';
import { makeDataset } from '../../src/data/dataset.js';
import { runLocalTraining } from '../../src/fl/local-training.js';
import type { LocalResult } from '../../src/fl/strategy.js';
import { trainTaskOf, type TrainTaskMessage } from '../../src/client/round.js';
import { CLIENT } from '../server/helpers.js';

export async function nodeReference(t: Test, fed: FedmanApp, c: { clientId: number; key: string; task: TrainTaskMessage }, global: Float32Array): Promise<{ shardStatus: number; node: LocalResult }> {
  const shard = await fed.app.inject({ method: 'GET', url: `/v1/client-data?clientId=${c.clientId}`, headers: { ...CLIENT, 'x-fedman-client-key': c.key } });
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(shard.rawPayload), 'shard');
  const x = tensors.get('x')!, y = tensors.get('y')!;
  const ds = makeDataset({ name: 'shard', x: x.data, y: Int32Array.from(y.data), n: y.dims[0]!, sampleShape: x.dims.slice(1), numClasses: Number(metadata.numClasses) });
  const trainer = await Trainer.load(fed.federation.artifacts.dir, { threads: 1 });
  t.teardown(() => trainer.release());
  const node = await runLocalTraining(trainer, ds, global, trainTaskOf(c.task, c.clientId, Int32Array.from({ length: ds.n }, (_, i) => i), {}));
  return { shardStatus: shard.statusCode, node };
}
