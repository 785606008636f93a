"""Curvature of the paper CNN at its initial parameters: top eigenvalue by power iteration, a Lanczos cross-check
and a Hutchinson trace, all from exact float64 Hessian-vector products."""
import numpy as np
import torch

from .man import man_loss
from .models import PaperCNN

POWER_SEED = 7
HUTCH_SEED = 11
HUTCH_SAMPLES = 200
POWER_TOL = 1e-4
POWER_MAX_IT = 200
LANCZOS_SEED = 13
LANCZOS_STEPS = 60


def lanczos_extremes(params, hvp, dot):
    """Cross-check for the power iteration: LANCZOS_STEPS steps of Lanczos with full reorthogonalisation (float64).

    Returns the largest and smallest Ritz values with their residual norms |beta_m * s_last| (an upper bound on
    the distance to the nearest true eigenvalue).
    """
    g = torch.Generator().manual_seed(LANCZOS_SEED)
    q = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
    nq = dot(q, q) ** 0.5
    q = [t / nq for t in q]
    Q = [q]
    alphas, betas = [], []
    for j in range(LANCZOS_STEPS):
        w = list(hvp(Q[-1]))
        a = dot(Q[-1], w)
        alphas.append(a)
        for _ in range(2):  # full reorthogonalisation, twice
            for qi in Q:
                c = dot(qi, w)
                w = [wt - c * qt for wt, qt in zip(w, qi)]
        b = dot(w, w) ** 0.5
        betas.append(b)
        if j + 1 < LANCZOS_STEPS:
            Q.append([t / b for t in w])
    m = len(alphas)
    T = np.diag(alphas) + np.diag(betas[:m - 1], 1) + np.diag(betas[:m - 1], -1)
    theta, S = np.linalg.eigh(T)
    res = np.abs(betas[m - 1] * S[-1, :])
    return {'steps': m, 'seed': LANCZOS_SEED, 'top_ritz_value': float(theta[-1]), 'top_residual': float(res[-1]),
            'min_ritz_value': float(theta[0]), 'min_residual': float(res[0]),
            'top5_ritz_values': [float(t) for t in theta[::-1][:5]]}


def cnn_hessian(init_state, x, y, zeta):
    model = PaperCNN().double()
    model.load_state_dict({k: v.double() for k, v in init_state.items()})
    params = [p for _, p in model.named_parameters()]
    loss = man_loss(model, x.double(), y, zeta)[0]
    grads = torch.autograd.grad(loss, params, create_graph=True)

    def hvp(vs):
        return torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True)

    def dot(a, b):
        return sum(float((u * w).sum()) for u, w in zip(a, b))

    g = torch.Generator().manual_seed(POWER_SEED)
    v = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
    nv = dot(v, v) ** 0.5
    v = [t / nv for t in v]
    eig = None
    history = []
    converged = False
    it = 0
    for it in range(1, POWER_MAX_IT + 1):
        hv = hvp(v)
        new = dot(v, hv)  # Rayleigh quotient, ||v|| = 1
        history.append(new)
        nh = dot(hv, hv) ** 0.5
        v = [t / nh for t in hv]
        if eig is not None and abs(new - eig) / max(abs(eig), 1e-30) < POWER_TOL:
            eig = new
            converged = True
            break
        eig = new
    hv = hvp(v)
    lam = dot(v, hv)
    resid = dot([a - lam * b for a, b in zip(hv, v)], [a - lam * b for a, b in zip(hv, v)]) ** 0.5 / abs(lam)

    lanczos = lanczos_extremes(params, hvp, dot)

    g = torch.Generator().manual_seed(HUTCH_SEED)
    samples = []
    for _ in range(HUTCH_SAMPLES):
        z = [torch.randint(0, 2, p.shape, generator=g).to(torch.float64) * 2 - 1 for p in params]
        samples.append(dot(z, hvp(z)))
    samples = np.array(samples)
    return {
        'zeta': zeta,
        'loss': float(loss),
        'top_eigenvalue': eig,
        'rayleigh_at_final_vector': lam,
        'relative_residual': resid,
        'power_iterations': it,
        'power_converged': converged,
        'power_history': history,
        'lanczos': lanczos,
        'trace_hutchinson': float(samples.mean()),
        'trace_stderr': float(samples.std(ddof=1) / np.sqrt(len(samples))),
        'hutchinson_samples': len(samples),
    }


def _print_estimate(label, r):
    print('%s: top eig %.6f (%d it, conv %s, resid %.2e) trace %.4f +- %.4f' % (
        label, r['top_eigenvalue'], r['power_iterations'], r['power_converged'], r['relative_residual'],
        r['trace_hutchinson'], r['trace_stderr']), 'lanczos', r['lanczos'], flush=True)


def paper_cnn_hessian_fixture(init_state, x, y):
    """The 'paper_cnn_mnist' part of hessian.json: the estimates for mean CE and for CE + MAN (zeta 0.15) on one
    batch (x, y), printed as they finish (the CNN part takes about a minute)."""
    cnn = {
        'model': 'paper_cnn_mnist.onnx at its initial parameters (float64 copies)',
        'batch': 'data batch 0 (x[0], labels[0]), B=%d' % len(y),
        'method': 'exact Hessian-vector products (double backward); power iteration from a seeded N(0,1) '
                  'vector (Generator seed %d), Rayleigh quotient, stop when relative change < %g or %d '
                  'iterations; Hutchinson trace with %d Rademacher vectors (Generator seed %d), stderr = '
                  'std(ddof=1)/sqrt(n). lanczos: %d-step Lanczos with full reorthogonalisation from a seeded vector, '
                  'an independent, tighter estimate of the extreme eigenvalues (power iteration with a 1e-4 '
                  'relative-change stop ends early when |lambda2/lambda1| is close to 1)'
                  % (POWER_SEED, POWER_TOL, POWER_MAX_IT, HUTCH_SAMPLES, HUTCH_SEED, LANCZOS_STEPS),
        'mean_ce': cnn_hessian(init_state, x, y, 0.0),
    }
    _print_estimate('cnn mean CE', cnn['mean_ce'])
    cnn['man_loss_zeta_0.15'] = cnn_hessian(init_state, x, y, 0.15)
    _print_estimate('cnn CE+MAN ', cnn['man_loss_zeta_0.15'])
    return cnn
