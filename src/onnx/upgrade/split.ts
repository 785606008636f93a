/** Split-13: the split sizes moved from an attribute to an int64 input (absent: equal parts, as before). */
import { registerUpgrade } from './registry.js';
import { attrToInput } from './common.js';

registerUpgrade('Split', 13, (ctx) => attrToInput(ctx, 'split', 1));
