/**
 * Dropout-10 (its mask output became bool: refused where the model reads the mask) and Dropout-12 (the ratio
 * moved from an attribute to an input; training_mode, a new input, defaults to false, the inference behaviour of
 * the older versions).
 */
import { DataType } from '../proto.js';
import { attrFloat, copyAttrs, hasAttr } from '../attrs.js';
import { registerUpgrade } from './registry.js';

registerUpgrade('Dropout', 10, (ctx) => {
  const mask = ctx.node.output?.[1];
  if (mask && ctx.used(mask)) ctx.fail(`the model reads its mask output '${mask}', whose type changed from the input's to bool`);
  return ctx.node;
});

registerUpgrade('Dropout', 12, (ctx) => {
  const { node } = ctx;
  const input = [node.input![0]!];
  if (hasAttr(node, 'ratio')) input.push(ctx.constF([attrFloat(node, 'ratio', 0.5)], [], DataType.FLOAT));
  return { ...node, input, attribute: copyAttrs(node, ['ratio', 'seed']) };
});
