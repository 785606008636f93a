/** Pad-11: pads (attribute) became an int64 input, the constant value (attribute, default 0) an input of X's type. */
import { attrFloat, attrString, copyAttrs } from '../attrs.js';
import { registerUpgrade } from './registry.js';
import { intsAttr, scalarLike } from './common.js';

registerUpgrade('Pad', 11, async (ctx) => {
  const { node } = ctx;
  const x = node.input![0]!;
  const pads = intsAttr(node, 'pads');
  if (!pads) ctx.fail("it has no 'pads' attribute");
  const input = [x, ctx.constI64(pads!)];
  const value = attrFloat(node, 'value', 0);
  if (attrString(node, 'mode', 'constant') === 'constant' && value !== 0) input.push(await scalarLike(ctx, x, value, 'the pad value'));
  return { ...node, input, attribute: copyAttrs(node, ['pads', 'value']) };
});
