/**
 * Browser training speed (issue 6): the browser client page (headless Chromium, onnxruntime-web wasm with 1 or 2
 * threads, in its Web Worker) trains one round of the MNIST paper CNN on a 1,200-sample shard (2 local epochs, batch 50),
 * against onnxruntime-node (as many intra-op threads) running the same task on the same artifacts and data, in this
 * process. Both time local training only (from the first step to the last, as runLocalTraining reports it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/server/app.js';
import { withPages } from '../src/web/pages.js';
import { validateServerConfig } from '../src/config/index.js';
import { Trainer } from '../src/runtime/trainer.js';
import { runLocalTraining } from '../src/fl/local-training.js';
import { trainTaskOf, type TrainTaskMessage } from '../src/client/round.js';
import { loadClientData } from '../src/data/client-data.js';
import { launchChromium } from '../test/helpers/browser.js';

export interface BrowserTrainBench {
  model: string; samples: number; epochs: number; batch: number; threads: number;
  browserSamplesPerSecond: number; nodeSamplesPerSecond: number; chromium: string;
}

/** One round in the browser with `threads` wasm threads, then the same task on onnxruntime-node with as many. */
export async function benchBrowserTrain(threads = 1): Promise<BrowserTrainBench> {
  const model = 'cnn-mnist', limit = 1200, epochs = 2, batch = 50;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fedman-bench-browser-'));
  const config = validateServerConfig({
    model, clients: 1, rounds: 1, localEpochs: epochs, batchSize: batch, seed: 1, data: { data: 'mnist', limit }, serving: { enabled: false },
  });
  const fed = await buildApp({ extend: withPages(), config, stateDir: path.join(dir, 'state') });
  const browser = await launchChromium();
  try {
    const base = await fed.app.listen({ host: '127.0.0.1', port: 0 });
    const { page } = browser;
    await page.goto(`${base}/client/?threads=${threads}`);
    await page.click('#join');
    await page.waitForFunction(() => (window as any).fedmanClient.rounds.length >= 1 || (window as any).fedmanClient.error, undefined, { timeout: 300_000 });
    const got = await page.evaluate(() => { const c = (window as any).fedmanClient; return { sps: c.samplesPerSecond[0] as number, task: c.lastTask as TrainTaskMessage, error: c.error as string, threads: c.threads as number }; });
    if (got.error) throw new Error(`browser client: ${got.error}`);
    if (got.threads !== threads) throw new Error(`the page trained with ${got.threads} wasm threads, not ${threads} (cross-origin isolation missing?)`);
    const chromium = browser.context.browser()?.version() ?? 'chromium';

    const data = await loadClientData({ clientIndex: 0 }, fed.federation.publishedData(), 1);
    const trainer = await Trainer.load(fed.federation.artifacts.dir, { threads });
    try {
      const v0 = await fed.models.get(0)!.params();
      const r = await runLocalTraining(trainer, data.train, v0, trainTaskOf(got.task, 0, data.indices[0]!, {}));
      return { model, samples: limit, epochs, batch, threads, browserSamplesPerSecond: got.sps, nodeSamplesPerSecond: r.samples / r.seconds, chromium };
    } finally { await trainer.release(); }
  } finally {
    await browser.close();
    await fed.app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify([await benchBrowserTrain(1), await benchBrowserTrain(2)], null, 2));
