/**
 * TopK-10 (k from an attribute to an int64 [1] input), Scatter-11 (deprecated: the same op is ScatterElements),
 * RoiAlign-16 (its default coordinate transformation changed to half_pixel: the old one, output_half_pixel, is
 * written out).
 */
import { attrInt, encodeAttr, hasAttr, copyAttrs } from '../attrs.js';
import { registerUpgrade } from './registry.js';

registerUpgrade('TopK', 10, (ctx) => {
  const { node } = ctx;
  if (!hasAttr(node, 'k')) ctx.fail("it has no 'k' attribute");
  return { ...node, input: [node.input![0]!, ctx.constI64([attrInt(node, 'k', 0)], [1])], attribute: copyAttrs(node, ['k']) };
});

registerUpgrade('Scatter', 11, (ctx) => ({ ...ctx.node, opType: 'ScatterElements' }));

registerUpgrade('RoiAlign', 16, (ctx) => {
  const { node } = ctx;
  if (hasAttr(node, 'coordinate_transformation_mode')) return node;
  return { ...node, attribute: [...(node.attribute ?? []), encodeAttr('coordinate_transformation_mode', 'output_half_pixel')] };
});
