import t from 'tap';
import { readFileSync } from 'node:fs';
import { defaultConfig } from '../../src/config/index.js';

t.test('docs/simulation.md documents every config field with its default', async (t) => {
  const doc = readFileSync('docs/simulation.md', 'utf8');
  for (const [field, value] of Object.entries(defaultConfig())) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${field}\` |`));
    t.ok(row, `row for ${field}`);
    t.ok(row?.includes(`\`${JSON.stringify(value).replace(/,/g, ', ').replace(/:/g, ': ')}\``), `${field} default ${JSON.stringify(value)} in: ${row}`);
  }
});
