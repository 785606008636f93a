/**
 * Squeeze-13, Unsqueeze-13 and ReduceSum-13: axes moved from an attribute to an int64 input. Without axes the
 * meaning is kept: Squeeze drops every size-1 axis, ReduceSum reduces all (noop_with_empty_axes defaults to 0).
 */
import { registerUpgrade } from './registry.js';
import { attrToInput } from './common.js';

for (const op of ['Squeeze', 'Unsqueeze', 'ReduceSum']) registerUpgrade(op, 13, (ctx) => attrToInput(ctx, 'axes', 1));
