import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { compareVectors, replayProblems, replaySourcesSha256, reproductionTarget } from '../../scripts/crosscheck.js';
import { CROSSCHECK_TOLERANCE, judge, renderCrosscheckSection, type CrosscheckRecord } from '../../scripts/crosscheck-report.js';
import { mergeConfig } from '../../src/config/index.js';

type Row = CrosscheckRecord['perRound'][number];
/** One round: [fedman vs f32, fedman vs f64, f32 vs f64]. */
const row = (round: number, [f32, f64, t]: [number, number, number]): Row => ({
  round, participants: [1, 4], fedmanVsTorch32: f32, fedmanVsTorch64: f64, torch32VsTorch64: t,
  fedman: { trainLoss: 2.1, testAccuracy: 0.1 }, torch32: { trainLoss: 2.1, testAccuracy: 0.1 }, torch64: { trainLoss: 2.1, testAccuracy: null },
});
const rows = (...d: [number, number, number][]) => d.map((x, i) => row(i + 1, x));
/** Adds one-round replay distances [fedman vs f32, fedman vs f64, f32 vs f64] to each row. */
const withOneRound = (rs: Row[], ...d: [number, number, number][]) => rs.map((r, i) => ({
  ...r, oneRound: { fedmanVsTorch32: d[i]![0], fedmanVsTorch64: d[i]![1], torch32VsTorch64: d[i]![2] },
}));

function record(name: string, perRound: Row[]): CrosscheckRecord {
  return {
    format: 'fedman-crosscheck', version: 1, name,
    replays: { kind: 'config', file: 'x.config.json' },
    summary: { data: 'mnist', model: 'cnn-mnist', clients: 10, rounds: perRound.length, localEpochs: 1, batchSize: 50, lr: 0.1, clipNorm: 1, man: 0.15 },
    participations: 4, localSteps: 20, clippedSteps: 3, paramCount: 1000, tolerance: CROSSCHECK_TOLERANCE, perRound,
    torch: { version: '1.13', numpy: '1.24', mkldnn: 'off', seconds32: 1, seconds64: 2 }, fedman: { commit: 'abc', seconds: 1 }, generated: '2026-11-24T00:00:00Z',
  };
}

t.test('compareVectors: max|a − b|, max|b| and their ratio', async (t) => {
  t.same(compareVectors(new Float32Array([1, 2, -4]), new Float32Array([1, 2.5, -4])), { maxAbsDiff: 0.5, maxAbs: 4, relative: 0.5 / 4 });
  t.equal(compareVectors(new Float32Array([0, 0]), new Float32Array([0, 0])).relative, 0);
  t.throws(() => compareVectors(new Float32Array(2), new Float32Array(3)), /2 and 3 parameters/);
});

t.test('judge', async (t) => {
  const tight = judge(rows([1e-7, 1e-7, 2e-7], [2e-6, 1e-6, 3e-6]));
  t.match(tight, { withinTolerance: true, fedmanRoundsOnReference: 2, torchRoundsOnReference: 2, consistent: true, passed: true });

  // Both float32 runs part from float64 in round 3; fedman's distance stays of PyTorch float32's size.
  const parted = judge(rows([1e-7, 1e-7, 1e-7], [2e-7, 3e-7, 2e-7], [2e-3, 1e-3, 2e-3], [1e-2, 5e-3, 9e-3]));
  t.match(parted, { withinTolerance: false, fedmanRoundsOnReference: 2, torchRoundsOnReference: 2, consistent: true, passed: true });

  // fedman leaves the float64 run while PyTorch float32 is still on it: a real difference.
  const early = judge(rows([3e-4, 3e-4, 1e-7], [1e-3, 1e-3, 2e-7]));
  t.match(early, { fedmanRoundsOnReference: 0, torchRoundsOnReference: 2, consistent: false, passed: false });

  // After parting, far more than PARTED_FACTOR × PyTorch float32's distance.
  t.match(judge(rows([1e-7, 1e-7, 1e-7], [5e-2, 5e-2, 1e-3])), { consistent: false, passed: false });

  // Below the rounding floor a larger fedman distance is no evidence of anything.
  t.match(judge(rows([5e-7, 8e-7, 1e-8])), { consistent: true, passed: true });

  t.equal(tight.oneRound, null, 'no one-round replays in the record: nothing to say about them');

  // One-round replays: each round from fedman's previous model stays within the bar, so the parted run is consistent.
  const replayed = judge(withOneRound(rows([1e-7, 1e-7, 1e-7], [2e-3, 1e-3, 2e-3]), [1e-7, 2e-7, 2e-7], [3e-5, 2e-5, 4e-5]));
  t.match(replayed, { consistent: true, passed: true, oneRound: { worstFedman: 2e-5, worstTorch32: 4e-5, consistent: true } });
  // Above the bar but of PyTorch float32's size in the same round: rounding, still consistent.
  t.match(judge(withOneRound(rows([1e-7, 1e-7, 1e-7], [2e-3, 1e-3, 2e-3]), [1e-7, 2e-7, 2e-7], [1e-3, 5e-4, 1e-3])).oneRound, { consistent: true });
  // A round fedman computes differently shows up even though the whole runs end close together.
  const oneBadRound = judge(withOneRound(rows([1e-7, 1e-7, 1e-7], [5e-5, 5e-5, 1e-7]), [1e-7, 2e-7, 2e-7], [3e-3, 3e-3, 1e-7]));
  t.match(oneBadRound, { withinTolerance: true, consistent: false, passed: false, oneRound: { worstFedman: 3e-3, consistent: false } });
  t.match(judge(withOneRound(rows([1e-7, 1e-7, 1e-7]), [1e-7, Number.NaN, 1e-7])), { passed: false, broken: /round 1/ });

  const nan = judge(rows([1e-7, 1e-7, 1e-7], [Number.NaN, 1e-3, 1e-3]));
  t.match(nan, { passed: false, broken: /round 2: a distance is not a finite number/ });
  t.match(judge([]), { passed: false, broken: 'no rounds' });
});

t.test('replayProblems names what the PyTorch replay cannot do, before anything runs', async (t) => {
  t.same(replayProblems(reproductionTarget('mnist', 5).config), [], "the reproduction's run, made replayable");
  const base = { data: 'mnist', model: 'cnn-mnist', clients: 4, rounds: 2, algorithm: 'fedavg', shuffle: false };
  t.same(replayProblems(mergeConfig(base)), []);
  const bad = replayProblems(mergeConfig({ ...base, shuffle: true, algorithm: 'fedprox', robust: { rule: 'median' } }));
  t.match(bad.join('\n'), /algorithm must be 'fedavg'/);
  t.match(bad.join('\n'), /shuffle must be false/);
  t.match(bad.join('\n'), /robust and dp must be off/);
  t.match(replayProblems(mergeConfig({ ...base, data: 'cifar10', model: 'mlp' })).join('\n'), /data must be 'mnist' or 'fashion-mnist'/);
});

t.test('the section: table, verdicts from the distances, and the reading of a miss', async (t) => {
  t.same(renderCrosscheckSection([]), [], 'no records, no section');
  const pass = record('tight', rows([1e-7, 1e-7, 2e-7], [2e-6, 1e-6, 3e-6]));
  const noisy = record('noisy', rows([1e-7, 1.5e-7, 1.5e-7], [2e-2, 3e-3, 1.6e-2]));
  const md = renderCrosscheckSection([pass, noisy]).join('\n');
  t.match(md, /^## Cross-check with an independent PyTorch implementation/);
  t.match(md, /oneDNN/, 'says how PyTorch computed its convolutions');
  t.match(md, /\| 2\.0e-6 \| 1\.0e-6 \| 3\.0e-6 \| yes \| 2 \/ 2 \| — \| yes \|/);
  t.match(md, /\| 2\.0e-2 \| 3\.0e-3 \| 1\.6e-2 \| \*\*no\*\* \| 1 \/ 1 \| — \| yes \|/);
  t.match(md, /In tight fedman and PyTorch float32 agree within the bar/);
  t.match(md, /Where the bar is missed \(noisy; 3 of 20 steps clipped at lr 0\.1\), PyTorch's own float32 run ends as far from its float64 run \(up to 1\.6e-2\)/);
  t.match(md, /fedman stays within 1e-4 of the float64 run for 1 round\(s\) \(PyTorch float32: 1; after round 1 fedman is within 1\.5e-7 of it\)/);
  t.notMatch(md, /disagree beyond float32 rounding/);

  const wrong = record('wrong', rows([1e-3, 1e-3, 1e-6]));
  const bad = renderCrosscheckSection([wrong]).join('\n');
  t.match(bad, /\*\*fedman and PyTorch disagree beyond float32 rounding in wrong\*\*/);
  t.match(bad, /\| \*\*no\*\* \| 0 \/ 1 \| — \| \*\*no\*\* \|/);

  const broken = record('diverged', rows([1e-7, 1e-7, 1e-7], [Number.NaN, Number.NaN, 1e-3]));
  const text = renderCrosscheckSection([broken]).join('\n');
  t.match(text, /\| n\/a \| n\/a \|/, 'a NaN distance renders, it does not crash the generator');
  t.match(text, /\*\*broken\*\*: round 2/);
});

t.test('the section with one-round replays: worst rounds in the table, per-round columns, and what they show', async (t) => {
  const noisy = record('noisy', withOneRound(rows([1e-7, 1.5e-7, 1.5e-7], [2e-2, 3e-3, 1.6e-2]), [1e-7, 1.5e-7, 1.5e-7], [2e-5, 3e-5, 4e-3]));
  const md = renderCrosscheckSection([noisy]).join('\n');
  t.match(md, /\| \*\*no\*\* \| 1 \/ 1 \| 3\.0e-5 \/ 4\.0e-3 \| yes \|/, 'worst one-round distances of fedman and PyTorch float32');
  t.match(md, /\| 2 \| 1, 4 \| 2\.0e-2 \| 3\.0e-3 \| 1\.6e-2 \| 2\.0e-5 \/ 3\.0e-5 \/ 4\.0e-3 \|/, 'per round: this round alone');
  t.match(md, /fedman's rounds are at most 3\.0e-5 \(PyTorch float32: 4\.0e-3\) from the float64 computation of the same round, within the bar of 1e-4 in every round\. fedman is within 1e-4 of PyTorch float32 or float64 computing the same round in 2 of 2 rounds \(every round\)/);
  t.match(md, /a bug that moves one round by less than 1e-4/);

  const off = record('off', withOneRound(rows([1e-7, 1.5e-7, 1.5e-7], [2e-2, 3e-3, 1.6e-2]), [1e-7, 1.5e-7, 1.5e-7], [2e-3, 3e-3, 4e-3]));
  const offMd = renderCrosscheckSection([off]).join('\n');
  t.match(offMd, /at most 3\.0e-3 \(PyTorch float32: 4\.0e-3\) from the float64 computation of the same round\./);
  t.notMatch(offMd, /within the bar of 1e-4 in every round|every round\)/, 'no claim of agreement when a round misses the bar');
  t.match(offMd, /computing the same round in 1 of 2 rounds\./, 'round 2 is within 1e-4 of neither PyTorch computation');
  // fedman far from float64 in round 2 but next to PyTorch float32 there: near one of them in every round.
  const nearF32 = record('near', withOneRound(rows([1e-7, 1.5e-7, 1.5e-7], [2e-2, 3e-3, 1.6e-2]), [1e-7, 1.5e-7, 1.5e-7], [1e-5, 2e-4, 2e-4]));
  t.match(judge(nearF32.perRound).oneRound, { nearEither: 2, rounds: 2, worstFedman: 2e-4, consistent: true });
  t.match(renderCrosscheckSection([nearF32]).join('\n'), /at most 2\.0e-4 \(PyTorch float32: 2\.0e-4\)[^.]*\. fedman is within 1e-4 of PyTorch float32 or float64 computing the same round in 2 of 2 rounds \(every round\)/);
});

t.test('the recorded replay hash covers the script and the modules of its package', async (t) => {
  const repo = t.testdir({ scripts: { 'torch_fedavg_man.py': 'main()\n', torchref: { 'man.py': 'a = 1\n', 'zoo.py': 'b = 2\n', 'notes.txt': 'x' } } });
  const before = replaySourcesSha256(repo);
  t.equal(replaySourcesSha256(repo), before, 'deterministic');
  writeFileSync(path.join(repo, 'scripts', 'torchref', 'notes.txt'), 'y');
  t.equal(replaySourcesSha256(repo), before, 'only .py files count');
  writeFileSync(path.join(repo, 'scripts', 'torchref', 'man.py'), 'a = 2\n');
  t.not(replaySourcesSha256(repo), before, 'a change to a module of the package changes it');
  t.match(replaySourcesSha256(), /^[0-9a-f]{64}$/, 'the repository\'s own replay');
});
