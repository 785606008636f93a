/**
 * The federation dashboard: polls GET /v1/admin/status and draws the round, participants, accuracy and loss
 * curves (the simulation's SVG charts), the top Hessian eigenvalue when the server computes it, and the clients.
 * The admin token (when the server wants one) comes from `#token=...` in the URL or the form, and is kept in
 * sessionStorage for the tab's lifetime.
 */
import { lineChart, type Series } from '../../sim/svg.js';
import type { FederationStatus } from '../../protocol/index.js';

const POLL_MS = 2000;
const TOKEN_KEY = 'fedman.adminToken';
const $ = (id: string) => document.getElementById(id)!;

function token(): string | null {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) { sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]!)); history.replaceState(null, '', location.pathname); }
  return sessionStorage.getItem(TOKEN_KEY);
}

const pct = (v: number | undefined) => (v === undefined ? '–' : `${(100 * v).toFixed(2)}%`);
const num = (v: number | undefined | null, digits = 4) => (v === undefined || v === null ? '–' : v.toFixed(digits));

function lastDefined<T>(xs: readonly T[], f: (x: T) => number | undefined): number | undefined {
  for (let i = xs.length - 1; i >= 0; i--) { const v = f(xs[i]!); if (v !== undefined) return v; }
  return undefined;
}

function render(s: FederationStatus): void {
  const h = s.history;
  $('federation').textContent = `fedman · ${s.federation}`;
  $('phase').textContent = `${s.algorithm}${s.man > 0 ? ` + MAN ζ=${s.man}` : ''} · ${s.stopped ? 'stopped' : s.paused ? 'paused' : s.phase}`;
  $('model').textContent = `${s.model.name} (${s.model.paramCount.toLocaleString('en')} parameters)`;
  $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  $('round').textContent = s.round ? `${s.round.round} / ${s.rounds}` : `${s.completedRounds} / ${s.rounds}`;
  const acc = lastDefined(h, (r) => r.testAccuracy) ?? s.initialEval?.testAccuracy;
  const loss = lastDefined(h, (r) => r.testLoss) ?? s.initialEval?.testLoss;
  $('accuracy').textContent = pct(acc);
  $('loss').textContent = num(loss);
  $('eigenvalue').textContent = num(lastDefined(h, (r) => r.topEigenvalue), 3);
  $('connected').textContent = `${s.connected} / ${s.clients.length}`;
  $('version').textContent = s.latestVersion === null ? '–' : String(s.latestVersion);

  const parts = $('participants');
  parts.replaceChildren();
  if (!s.round) parts.textContent = s.phase === 'done' ? 'the federation is done' : 'waiting for enough clients';
  else {
    const names = new Map(s.clients.map((c) => [c.id, c.name]));
    for (const id of s.round.participants) {
      const chip = document.createElement('span');
      const done = s.round.accepted.includes(id);
      chip.className = done ? 'chip done' : 'chip';
      chip.textContent = `${names.get(id) ?? id}${done ? ' ✓' : ''}`;
      parts.append(chip);
    }
  }

  const initial = s.initialEval ? [[0, s.initialEval.testAccuracy] as const] : [];
  const accSeries: Series[] = [
    { name: 'test accuracy', points: [...initial, ...h.filter((r) => r.testAccuracy !== undefined).map((r) => [r.round, r.testAccuracy!] as const)] },
    { name: 'train accuracy (clients)', points: h.map((r) => [r.round, r.trainAccuracy] as const), dashed: true },
  ];
  const initialLoss = s.initialEval ? [[0, s.initialEval.testLoss] as const] : [];
  const lossSeries: Series[] = [
    { name: 'test loss', points: [...initialLoss, ...h.filter((r) => r.testLoss !== undefined).map((r) => [r.round, r.testLoss!] as const)] },
    { name: 'train loss (clients)', points: h.map((r) => [r.round, r.trainLoss] as const), dashed: true },
  ];
  $('chart-accuracy').innerHTML = lineChart({ title: 'accuracy per round', xLabel: 'round', yLabel: 'accuracy', series: accSeries, width: 560, height: 300 });
  $('chart-loss').innerHTML = lineChart({ title: 'loss per round', xLabel: 'round', yLabel: 'loss', series: lossSeries, width: 560, height: 300 });

  const rows = s.clients.map((c) => {
    const tr = document.createElement('tr');
    for (const [text, cls] of [[String(c.id), ''], [c.name, ''], [c.connected ? 'connected' : 'away', c.connected ? 'on' : 'off'], [c.lastSeen ? new Date(c.lastSeen).toLocaleTimeString() : '–', '']] as const) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    return tr;
  });
  $('clients').replaceChildren(...rows);
}

let timer: ReturnType<typeof setTimeout> | undefined;

async function poll(): Promise<void> {
  clearTimeout(timer);
  const t = token();
  try {
    const res = await fetch('/v1/admin/status', { headers: t ? { authorization: `Bearer ${t}` } : {} });
    if (res.status === 401 || res.status === 403) {
      $('login').classList.add('shown');
      $('error').textContent = (await res.json().catch(() => ({ error: res.statusText }))).error;
      return;
    }
    if (!res.ok) throw new Error(`status ${res.status}`);
    $('login').classList.remove('shown');
    $('error').textContent = '';
    render(await res.json() as FederationStatus);
    document.body.dataset.ready = 'true';
  } catch (err) {
    $('error').textContent = `cannot reach the server: ${(err as Error).message}`;
  } finally {
    timer = setTimeout(() => void poll(), POLL_MS);
  }
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, ($('token') as HTMLInputElement).value);
  void poll();
});
void poll();
