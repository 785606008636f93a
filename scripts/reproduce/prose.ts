import { fileURLToPath } from 'node:url';
import { loadTemplate } from './template.js';

/** The wording of RESULTS.md, read once (results.template.md). */
export const prose = loadTemplate(fileURLToPath(new URL('./results.template.md', import.meta.url)));
