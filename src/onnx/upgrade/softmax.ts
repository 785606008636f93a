/**
 * Softmax-13, LogSoftmax-13, Hardmax-13: before 13 they coerced the input to 2-D around `axis` (default 1), i.e.
 * normalised over all axes from `axis` on; since 13 they normalise along `axis` alone (default −1). Where `axis`
 * is the last axis the two agree (an explicit axis is written, as the default changed); otherwise the old meaning is
 * spelled out: Flatten at `axis`, the op over axis 1, Reshape back to the input's shape.
 */
import { attrInt, copyAttrs, encodeAttr } from '../attrs.js';
import { registerUpgrade } from './registry.js';

for (const op of ['Softmax', 'LogSoftmax', 'Hardmax']) {
  registerUpgrade(op, 13, async (ctx) => {
    const { node } = ctx;
    const x = node.input![0]!;
    const axis = attrInt(node, 'axis', 1);
    const rank = await ctx.rank(x);
    if (rank !== undefined && (axis < 0 ? axis + rank : axis) === rank - 1) {
      return { ...node, attribute: [...copyAttrs(node, ['axis']), encodeAttr('axis', rank - 1)] };
    }
    const flat = ctx.op('Flatten', [x], { axis });
    const y = ctx.op(op, [flat], { axis: 1 });
    return { opType: 'Reshape', domain: '', name: node.name, input: [y, ctx.op('Shape', [x])], output: [...(node.output ?? [])], attribute: [] };
  });
}
