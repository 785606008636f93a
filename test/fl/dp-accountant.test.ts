/**
 * The RDP accountant of the sampled Gaussian mechanism against published reference values:
 *
 *  - TensorFlow Privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py (test_compute_rdp_no_data,
 *    test_compute_rdp_no_sampling, test_compute_rdp_scalar, test_compute_rdp_sequence,
 *    test_get_privacy_spent_check_target_delta), and google/differential-privacy,
 *    python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant_test.py
 *    (test_compute_rdp_poisson_sampled_gaussian: more digits of the same sequence; test_compute_epsilon_delta_pure_dp);
 *  - TensorFlow Privacy, tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py (Test0, Test1: ε of
 *    DP-SGD whose optimal order is an integer, so integer orders reproduce it).
 */
import t from 'tap';
import { computeRdp, epsilonFromRdp, logAInt, RdpAccountant, RDP_ORDERS } from '../../src/fl/defense/rdp-accountant.js';

const close = (a: number, b: number, rtol: number) => Math.abs(a - b) <= rtol * Math.abs(b);

t.test('RDP of the sampled Gaussian mechanism at integer orders', async (t) => {
  t.same(computeRdp(0, 10, 1, [20]), [0], 'q = 0: nothing is spent');
  t.same(computeRdp(1, 10, 1, [20]), [0.1], 'q = 1: the Gaussian mechanism, α / (2σ²)');
  t.ok(close(computeRdp(0.1, 2, 10, [5])[0]!, 0.07737, 1e-4), 'TF Privacy compute_rdp(0.1, 2, 10, 5) ≈ 0.07737');
  // compute_rdp(q = 0.01, σ = 2.5, steps = 50) at orders 5, 50, 100 (dp_accounting, rtol 1e-4 there).
  const want = [2.18075656e-3, 2.38460375e-2, 1.67416308e2];
  const got = computeRdp(0.01, 2.5, 50, [5, 50, 100]);
  for (let i = 0; i < want.length; i++) t.ok(close(got[i]!, want[i]!, 1e-6), `order ${[5, 50, 100][i]}: ${got[i]} vs ${want[i]}`);
  // A_2 has a closed form: 1 + q²(e^{1/σ²} − 1).
  const q = 0.3, s = 1.7;
  t.ok(close(logAInt(q, s, 2), Math.log1p(q * q * Math.expm1(1 / (s * s))), 1e-12), 'A_2 closed form');
  t.ok(computeRdp(1e-3, 0.5, 1, [1024])[0]! > 0, 'large orders stay finite in log space');
  t.same(computeRdp(0.5, 0, 1, [2]), [Infinity], 'σ = 0: no privacy');
  t.throws(() => computeRdp(0.5, 1, 1, [1.5]), /integers ≥ 2/);
});

t.test('RDP → (ε, δ) conversion', async (t) => {
  const orders = Array.from({ length: 31 }, (_, i) => i + 2);
  const r = epsilonFromRdp(orders, orders.map(() => 1.1), 1e-5);
  t.ok(close(r.epsilon, 1.32783806176, 1e-9), `constant RDP 1.1: ε = ${r.epsilon}`);
  t.equal(r.order, 32);
  t.same(epsilonFromRdp([2, 3], [0, 0], 1e-5), { epsilon: 0, order: 2 });
  t.equal(epsilonFromRdp([2], [Infinity], 1e-5).epsilon, Infinity);
});

t.test('ε of DP-SGD as TensorFlow Privacy compute_dp_sgd_privacy reports it', async (t) => {
  // (n, batch, σ, epochs, δ) → ε at the optimal order; steps = ⌈epochs·n/batch⌉, q = batch/n.
  const cases = [
    { n: 60000, batch: 150, sigma: 1.3, epochs: 15, delta: 1e-5, eps: 0.7242234026109595, order: 19 },
    { n: 100000, batch: 100, sigma: 1.0, epochs: 30, delta: 1e-7, eps: 1.4154988495444845, order: 13 },
  ];
  for (const c of cases) {
    const steps = Math.ceil((c.epochs * c.n) / c.batch);
    const acc = new RdpAccountant(c.batch / c.n, c.sigma);
    const r = acc.spent(steps, c.delta);
    t.ok(close(r.epsilon, c.eps, 1e-9), `ε ${r.epsilon} vs ${c.eps}`);
    t.equal(r.order, c.order);
    t.equal(acc.epsilon(steps, c.delta), r.epsilon);
  }
  t.ok(RDP_ORDERS.includes(13) && RDP_ORDERS.includes(19) && RDP_ORDERS.at(-1) === 1024);
});
