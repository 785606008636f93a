/**
 * Turning a global model into a published model version: evaluation on the server's data (when configured), the
 * version's files (parameters + exported ONNX), and its flatness (top Hessian eigenvalue, when configured).
 */
import type { Dataset } from '../../data/dataset.js';
import { evalRange } from '../../fl/local-training.js';
import { measureFlatness } from '../../flatness/index.js';
import type { EvalResult } from '../../protocol/index.js';
import type { Trainer } from '../../runtime/trainer.js';
import type { ServerConfig } from '../../config/index.js';
import type { ModelVersions } from '../model-versions.js';

export class Publisher {
  constructor(
    private readonly models: ModelVersions,
    private readonly trainer: Trainer,
    private readonly modelName: string,
    private readonly config: ServerConfig,
    private readonly evalData: Dataset | null,
  ) {}

  /** Whether the config asks for evaluation at all. */
  get evaluates(): boolean {
    return this.evalData !== null;
  }

  async evaluate(params: Float32Array): Promise<EvalResult> {
    const data = this.evalData!;
    const r = await evalRange(this.trainer, data, params, 0, data.n, this.config.evaluation!.batchSize);
    const d = Math.max(r.samples, 1);
    return { testLoss: r.lossSum / d, testAccuracy: r.correct / d };
  }

  async addVersion(version: number, params: Float32Array, ev: EvalResult | undefined): Promise<void> {
    await this.models.add(
      { version, round: version, createdAt: new Date().toISOString(), paramCount: params.length, model: this.modelName, ...(ev ?? {}) },
      params,
      async (file) => {
        this.trainer.setParams(params);
        await this.trainer.exportInference(file);
      },
    );
  }

  /** Top Hessian eigenvalue of a published version's cross-entropy on the evaluation data. */
  async topEigenvalue(version: number): Promise<number> {
    const ev = this.config.evaluation!;
    const fl = ev.flatness!;
    const f = await measureFlatness(this.models.get(version)!.onnxPath, this.evalData!, {
      samples: fl.samples, batchSize: ev.batchSize, method: 'power', maxIter: fl.maxIter, tol: fl.tol, seed: this.config.seed,
    });
    return f.topEigenvalue.eigenvalue;
  }
}
