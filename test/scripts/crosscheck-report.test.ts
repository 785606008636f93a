import t from 'tap';
import { relativeDifference } from '../../scripts/crosscheck.js';
import { CROSSCHECK_TOLERANCE, renderCrosscheckSection, type CrosscheckRecord } from '../../scripts/crosscheck-report.js';

function record(name: string, last: { f32: number; f64: number; t: number }): CrosscheckRecord {
  const round = (r: number, f32: number, f64: number, t32v64: number) => ({
    round: r, participants: [1, 4], fedmanVsTorch32: f32, fedmanVsTorch64: f64, torch32VsTorch64: t32v64,
    fedman: { trainLoss: 2.1, testAccuracy: 0.1 }, torch32: { trainLoss: 2.1, testAccuracy: 0.1 }, torch64: { trainLoss: 2.1, testAccuracy: null },
  });
  const perRound = [round(1, 1e-7, 1e-7, 2e-7), round(2, last.f32, last.f64, last.t)];
  return {
    format: 'fedman-crosscheck', version: 1, name,
    replays: { kind: 'config', file: 'x.config.json' },
    summary: { data: 'mnist', model: 'cnn-mnist', clients: 10, rounds: 2, localEpochs: 1, batchSize: 50, lr: 0.1, clipNorm: 1, man: 0.15 },
    participations: 4, localSteps: 20, clippedSteps: 3, paramCount: 1000, tolerance: CROSSCHECK_TOLERANCE, perRound,
    withinTolerance: last.f32 <= CROSSCHECK_TOLERANCE,
    withinFloat32Noise: perRound.every((p) => p.fedmanVsTorch64 <= p.torch32VsTorch64),
    torch: { version: '1.13', numpy: '1.24', mkldnn: 'off', seconds32: 1, seconds64: 2 }, fedman: { commit: 'abc', seconds: 1 }, generated: '2026-11-24T00:00:00Z',
  };
}

t.test('relativeDifference is max|a − b| / max|b|', async (t) => {
  t.equal(relativeDifference(new Float32Array([1, 2, -4]), new Float32Array([1, 2.5, -4])), 0.5 / 4);
  t.equal(relativeDifference(new Float32Array([0, 0]), new Float32Array([0, 0])), 0);
  t.throws(() => relativeDifference(new Float32Array(2), new Float32Array(3)), /1?2 and 3 parameters/);
});

t.test('the section reports both criteria and explains a miss of the bar', async (t) => {
  t.same(renderCrosscheckSection([]), [], 'no records, no section');
  const pass = record('tight', { f32: 2e-6, f64: 1e-6, t: 3e-6 });
  const noisy = record('noisy', { f32: 1.6e-2, f64: 2.9e-3, t: 1.6e-2 });
  const md = renderCrosscheckSection([pass, noisy]).join('\n');
  t.match(md, /^## Cross-check with an independent PyTorch implementation/);
  t.match(md, /\| 2\.0e-6 \| 1\.0e-6 \| 3\.0e-6 \| yes \| yes, every round \|/);
  t.match(md, /\| 1\.6e-2 \| 2\.9e-3 \| 1\.6e-2 \| \*\*no\*\* \| yes, every round \|/);
  t.match(md, /missed \(noisy\), PyTorch's own float32 run ends as far from its float64 run \(up to 1\.6e-2\)/);
  t.match(md, /after round 1 fedman is within 1\.0e-7 of it in that run, PyTorch float32 up to 2\.0e-7/);
  t.match(md, /\(tight\), fedman and PyTorch agree within the bar/);
  t.notMatch(md, /a real difference/);

  const wrong = record('wrong', { f32: 1e-3, f64: 1e-3, t: 1e-6 });
  const bad = renderCrosscheckSection([wrong]).join('\n');
  t.match(bad, /\*\*fedman is further from the float64 trajectory than PyTorch float32 is in wrong\*\*/);
  t.match(bad, /\| \*\*no\*\* \| \*\*no\*\* \|/);
});
