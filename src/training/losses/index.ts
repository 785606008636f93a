/** The loss heads by name (`--loss`), one file each. */
import { FedmanError } from '../../util/errors.js';
import type { LossDef } from './types.js';
import { crossEntropy } from './cross-entropy.js';
import { mseOneHot } from './mse.js';
import { bce } from './bce.js';
import { l1, l2 } from './regression.js';
import { ctc } from './ctc.js';

export type LossKind = 'cross-entropy' | 'mse' | 'bce' | 'l2' | 'l1' | 'ctc';

export const LOSSES: Readonly<Record<LossKind, LossDef>> = {
  'cross-entropy': crossEntropy, mse: mseOneHot, bce, l2, l1, ctc,
};

export const LOSS_KINDS = Object.keys(LOSSES) as LossKind[];

export function parseLoss(s: string): LossKind {
  if ((LOSS_KINDS as readonly string[]).includes(s)) return s as LossKind;
  throw new FedmanError(`--loss: expected one of ${LOSS_KINDS.join(', ')}, got '${s}'`);
}

export function lossDef(kind: LossKind): LossDef {
  const def = LOSSES[kind];
  if (!def) throw new FedmanError(`unknown loss '${kind}'; expected one of ${LOSS_KINDS.join(', ')}`);
  return def;
}

export type { LossDef, LossGeometry, LossHead, LossOptions, LossTarget } from './types.js';
