/**
 * BatchNormalization-9 (the `spatial` attribute is gone: spatial = 1, per-channel statistics, is the only form) and
 * BatchNormalization-14 (training mode became an attribute and the saved-statistics outputs were dropped: a node
 * whose running-statistics outputs are read becomes training_mode = 1; the inference form keeps output Y only).
 */
import { attrInt, copyAttrs, encodeAttr } from '../attrs.js';
import { registerUpgrade } from './registry.js';

registerUpgrade('BatchNormalization', 9, (ctx) => {
  const { node } = ctx;
  if (attrInt(node, 'spatial', 1) !== 1) ctx.fail('it has spatial = 0 (statistics per activation, not per channel), which opset 9 removed');
  return { ...node, attribute: copyAttrs(node, ['spatial']) };
});

registerUpgrade('BatchNormalization', 14, (ctx) => {
  const { node } = ctx;
  const outs = node.output ?? [];
  const saved = outs.slice(3).filter((o) => o && ctx.used(o));
  if (saved.length > 0) ctx.fail(`the model reads its saved mean/variance outputs (${saved.join(', ')}), which opset 14 removed`);
  const training = outs.slice(1, 3).some((o) => o && ctx.used(o));
  if (!training) return { ...node, output: [outs[0]!] };
  return { ...node, output: outs.slice(0, 3), attribute: [...copyAttrs(node, ['training_mode']), encodeAttr('training_mode', 1)] };
});
