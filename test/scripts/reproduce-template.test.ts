import t from 'tap';
import { fill, parseBlocks, sentences, template } from '../../scripts/reproduce/template.js';
import { prose } from '../../scripts/reproduce/prose.js';

t.test('parseBlocks: a block runs from its marker to the next, without blank lines at its ends', async (t) => {
  const text = 'a note on the file\n\n@@ one\n\nfirst line\n\nsecond line\n\n\n@@ two-2\nonly\n';
  t.same([...parseBlocks(text, 'x.md')], [['one', 'first line\n\nsecond line'], ['two-2', 'only']]);
  t.same([...parseBlocks('@@ a\r\nline\r\n', 'x.md')], [['a', 'line']], 'CRLF line ends');
  t.same([...parseBlocks('@@ empty\n\n@@ b\nx', 'x.md')], [['empty', ''], ['b', 'x']]);
  t.throws(() => parseBlocks('@@ a\nx\n@@ a\ny', 'x.md'), /x\.md:3: block 'a' is defined twice/);
  t.throws(() => parseBlocks('@@ Bad Name\nx', 'x.md'), /x\.md:1: not a block marker .*'@@ Bad Name'/);
  t.throws(() => parseBlocks('@@a\nx', 'x.md'), /x\.md:1: not a block marker/);
});

t.test('fill: every placeholder needs a value and every value a placeholder', async (t) => {
  t.equal(fill('{{n}} of {{total}} ({{n}})', { n: 3, total: 'ten' }, 'b'), '3 of ten (3)');
  t.equal(fill('no placeholders', {}, 'b'), 'no placeholders');
  t.equal(fill('{{a}}', { a: '{{b}}' }, 'b'), '{{b}}', 'a value is inserted as it is');
  t.equal(fill('{{a}}', { a: '$& $1' }, 'b'), '$& $1', 'no replacement patterns in values');
  t.throws(() => fill('{{n}} of {{total}}', { n: 1 }, "block 'x'"), /block 'x': no value for placeholder \{\{total\}\}/);
  t.throws(() => fill('{{n}}', { n: 1, extra: 2, more: 3 }, "block 'x'"), /block 'x': no placeholder for \{\{extra\}\}, \{\{more\}\}/);
  t.throws(() => fill('{{ n }}', { n: 1 }, 'b'), /b: malformed placeholder \{\{ n \}\}/);
  t.throws(() => fill('{{n} and {{m}}', { m: 1 }, 'b'), /b: unmatched '\{\{'/);
  t.throws(() => fill('n}} and {{m}}', { m: 1 }, 'b'), /b: unmatched '\}\}'/);
});

t.test('template: blocks by name', async (t) => {
  const T = template('@@ greet\nHello, {{who}}.\n@@ plain\nNothing to fill.', 'greet.md');
  t.equal(T.block('greet', { who: 'world' }), 'Hello, world.');
  t.equal(T.block('plain'), 'Nothing to fill.');
  t.throws(() => T.block('missing'), /greet\.md: no block 'missing'/);
  t.throws(() => T.block('greet'), /greet\.md, block 'greet': no value for placeholder \{\{who\}\}/);
  t.throws(() => T.block('plain', { who: 'x' }), /greet\.md, block 'plain': no placeholder for \{\{who\}\}/);
});

t.test('sentences: the ones given false are left out', async (t) => {
  t.equal(sentences('One.', false, 'Two.'), 'One. Two.');
  t.equal(sentences('One.', false), 'One.');
});

t.test('results.template.md: the flatness paragraph when src/flatness cannot be loaded', async (t) => {
  // The one paragraph the committed RESULTS.md cannot show (there, src/flatness loads).
  t.equal(
    sentences(prose.block('flatness-not-measured'), prose.block('flatness-load-error', { error: "Cannot find module 'x'" })),
    "**Not measured yet.** Each final global model's flatness is measured by `src/flatness` (`measureFlatness`) right after its run, into flatness.json next to its report. The module could not be loaded when this file was generated: Cannot find module 'x'.",
  );
});
