/** Slice-10: starts, ends and axes moved from attributes to int64 inputs (steps, new, default to 1). */
import { copyAttrs } from '../attrs.js';
import { registerUpgrade } from './registry.js';
import { intsAttr } from './common.js';

registerUpgrade('Slice', 10, (ctx) => {
  const { node } = ctx;
  const starts = intsAttr(node, 'starts');
  const ends = intsAttr(node, 'ends');
  if (!starts || !ends) ctx.fail("it lacks the 'starts' or 'ends' attribute");
  const axes = intsAttr(node, 'axes');
  const input = [node.input![0]!, ctx.constI64(starts!), ctx.constI64(ends!), ...(axes ? [ctx.constI64(axes)] : [])];
  return { ...node, input, attribute: copyAttrs(node, ['starts', 'ends', 'axes']) };
});
