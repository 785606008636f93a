/**
 * Sharpness-aware gradient (SAM, and ASAM's scale-invariant variant) compiled into the train step: the first
 * pass gives g at w; the forward/backward is instantiated again at w + ε (ε treated as a constant, as in SAM) and
 * the update uses g_mix = (1 − sam_mix)·g(w) + sam_mix·g(w + ε). sam_mix = 1 is SAM/FedSAM; FedSpeed mixes.
 * MAN is part of the loss in both passes, as the paper prescribes for SAM-type methods.
 *
 *   SAM:  ε = ρ·g / ‖g‖                    (Foret et al. 2021)
 *   ASAM: ε = ρ·T²g / ‖T g‖, T = |w| + η    (Kwon et al. 2021, element-wise)
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { FedmanError } from '../util/errors.js';
import type { HyperParamSpec } from './hyperparams.js';

export type SamKind = 'sam' | 'asam';

export const SAM_HYPERPARAMS: Record<SamKind, HyperParamSpec[]> = {
  sam: [
    { name: 'sam_rho', default: 0.05, doc: 'SAM neighbourhood radius ρ' },
    { name: 'sam_mix', default: 1, doc: 'weight of the perturbed gradient (1 = SAM; FedSpeed mixes)' },
  ],
  asam: [
    { name: 'sam_rho', default: 0.5, doc: 'ASAM radius ρ' },
    { name: 'sam_eta', default: 0.2, doc: 'ASAM scale offset η in T = |w| + η' },
    { name: 'sam_mix', default: 1, doc: 'weight of the perturbed gradient (1 = ASAM)' },
  ],
};

export function parseSam(s: string | undefined): SamKind | undefined {
  if (s === undefined || s === 'none') return undefined;
  if (s === 'sam' || s === 'asam') return s;
  throw new FedmanError(`--sam: expected none, sam or asam, got '${s}'`);
}

/** Emits w + ε for every parameter; returns original name → perturbed tensor. */
export function emitPerturbation(b: GraphBuilder, kind: SamKind, params: readonly string[], grads: ReadonlyMap<string, string>, hp: Record<string, string>): Map<string, string> {
  const scaled = new Map<string, string>();
  for (const p of params) {
    const g = grads.get(p)!;
    // ASAM works in the T-scaled space: ε = ρ·T·(Tg)/‖Tg‖.
    scaled.set(p, kind === 'asam' ? b.op('Mul', [g, b.op('Add', [b.op('Abs', [p]), hp.sam_eta!])]) : g);
  }
  const norm = b.op('Sqrt', [b.op('Sum', params.map((p) => b.op('ReduceSumSquare', [scaled.get(p)!], { keepdims: 0 })))]);
  const factor = b.op('Div', [hp.sam_rho!, b.op('Add', [norm, b.constF(1e-12)])]);
  const out = new Map<string, string>();
  for (const p of params) {
    let eps = b.op('Mul', [scaled.get(p)!, factor]);
    if (kind === 'asam') eps = b.op('Mul', [eps, b.op('Add', [b.op('Abs', [p]), hp.sam_eta!])]);
    out.set(p, b.op('Add', [p, eps]));
  }
  return out;
}

/** g_mix = g1 + sam_mix·(g2 − g1). */
export function mixGradients(b: GraphBuilder, g1: string, g2: string, mix: string): string {
  return b.op('Add', [g1, b.op('Mul', [b.op('Sub', [g2, g1]), mix])]);
}
