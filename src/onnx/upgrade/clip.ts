/** Clip-11: min and max moved from attributes (defaults: the type's range) to optional inputs of X's type. */
import { attrFloat, copyAttrs, hasAttr } from '../attrs.js';
import { registerUpgrade } from './registry.js';
import { scalarLike } from './common.js';

registerUpgrade('Clip', 11, async (ctx) => {
  const { node } = ctx;
  const x = node.input![0]!;
  const min = hasAttr(node, 'min') ? await scalarLike(ctx, x, attrFloat(node, 'min', 0), 'the min bound') : '';
  const max = hasAttr(node, 'max') ? await scalarLike(ctx, x, attrFloat(node, 'max', 0), 'the max bound') : '';
  return { ...node, input: max ? [x, min, max] : min ? [x, min] : [x], attribute: copyAttrs(node, ['min', 'max']) };
});
