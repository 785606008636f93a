/**
 * Upsample-9 (scales from an attribute to a float input), Upsample-10 (deprecated: the same op is Resize-10) and
 * Resize-11. Resize-10 (like Upsample) maps output cell x to input coordinate x / scale ("asymmetric") and, in
 * nearest mode, takes the cell below that coordinate when enlarging and the one above when shrinking, as ONNX
 * Runtime computes it; Resize-11 defaults to half_pixel coordinates and round_prefer_floor, so the old mapping is
 * written out. Its roi input stays empty.
 */
import { DataType } from '../proto.js';
import { attrFloats, attrString, copyAttrs, encodeAttr } from '../attrs.js';
import { registerUpgrade } from './registry.js';

registerUpgrade('Upsample', 9, (ctx) => {
  const { node } = ctx;
  const scales = attrFloats(node, 'scales');
  if (!scales) ctx.fail("it has no 'scales' attribute");
  return { ...node, input: [node.input![0]!, ctx.constF(scales!, [scales!.length], DataType.FLOAT)], attribute: copyAttrs(node, ['scales']) };
});

registerUpgrade('Upsample', 10, (ctx) => ({ ...ctx.node, opType: 'Resize' }));

registerUpgrade('Resize', 11, (ctx) => {
  const { node } = ctx;
  const [x, scales] = node.input ?? [];
  const attribute = [...copyAttrs(node, ['coordinate_transformation_mode', 'nearest_mode']), encodeAttr('coordinate_transformation_mode', 'asymmetric')];
  if (attrString(node, 'mode', 'nearest') === 'nearest') {
    const values = scales ? ctx.constant(scales) : undefined;
    if (!values) ctx.fail(`its scales '${scales}' are computed at run time; the rounding of nearest mode depends on whether they enlarge or shrink`);
    const up = values!.some((s) => s > 1);
    const down = values!.some((s) => s < 1);
    if (up && down) ctx.fail(`its scales ${JSON.stringify(values)} enlarge some axes and shrink others, which Resize-11's single nearest_mode cannot express`);
    attribute.push(encodeAttr('nearest_mode', down ? 'ceil' : 'floor'));
  }
  return { ...node, input: [x!, '', scales!], attribute };
});
