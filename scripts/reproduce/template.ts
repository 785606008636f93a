/**
 * Named blocks of prose with {{placeholders}}, so generated documents keep their wording in a text file.
 *
 * A template file holds blocks: each starts at a line "@@ <name>" and runs to the next such line or the end of the
 * file, without the blank lines at either end. Text before the first block (a note on the file) is not part of any.
 * {{name}} in a block is replaced by the value of that name; a value is inserted as it is, never scanned again.
 */
import { readFileSync } from 'node:fs';
import { FedmanError } from '../../src/util/errors.js';

export type Values = Readonly<Record<string, string | number>>;

const MARKER = /^@@ ([a-z][a-z0-9-]*)$/;
const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
const NAME = /^[A-Za-z][A-Za-z0-9]*$/;

export interface Template {
  /** A block with its placeholders filled; every placeholder needs a value and every value a placeholder. */
  block(name: string, values?: Values): string;
}

/** The blocks of a template file's text; `source` names the file in errors. */
export function parseBlocks(text: string, source: string): Map<string, string> {
  const blocks = new Map<string, string>();
  let name: string | null = null;
  let lines: string[] = [];
  const close = () => {
    if (name === null) return;
    while (lines.length && lines[0]!.trim() === '') lines.shift();
    while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
    blocks.set(name, lines.join('\n'));
  };
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (!line.startsWith('@@')) {
      lines.push(line);
      continue;
    }
    const m = MARKER.exec(line);
    if (!m) throw new FedmanError(`${source}:${i + 1}: not a block marker '@@ <name>' (lower case, digits, '-'): '${line}'`);
    close();
    name = m[1]!;
    if (blocks.has(name)) throw new FedmanError(`${source}:${i + 1}: block '${name}' is defined twice`);
    lines = [];
  }
  close();
  return blocks;
}

/** Replaces the {{placeholders}} of `text`; `where` names the text in errors. */
export function fill(text: string, values: Values, where: string): string {
  const used = new Set<string>();
  const out = text.replace(PLACEHOLDER, (_, name: string) => {
    if (!NAME.test(name)) throw new FedmanError(`${where}: malformed placeholder {{${name}}}`);
    if (!Object.hasOwn(values, name)) throw new FedmanError(`${where}: no value for placeholder {{${name}}}`);
    used.add(name);
    return String(values[name]);
  });
  const stray = /\{\{|\}\}/.exec(text.replace(PLACEHOLDER, ''));
  if (stray) throw new FedmanError(`${where}: unmatched '${stray[0]}'`);
  const unknown = Object.keys(values).filter((k) => !used.has(k));
  if (unknown.length) throw new FedmanError(`${where}: no placeholder for ${unknown.map((k) => `{{${k}}}`).join(', ')}`);
  return out;
}

export function template(text: string, source: string): Template {
  const blocks = parseBlocks(text, source);
  return {
    block(name, values = {}) {
      const body = blocks.get(name);
      if (body === undefined) throw new FedmanError(`${source}: no block '${name}'`);
      return fill(body, values, `${source}, block '${name}'`);
    },
  };
}

/** Sentences of one paragraph, the ones left out given as false. */
export function sentences(...parts: (string | false)[]): string {
  return parts.filter((s): s is string => s !== false).join(' ');
}

export function loadTemplate(file: string): Template {
  return template(readFileSync(file, 'utf8'), file);
}
