/**
 * The federation dashboard: polls GET /v1/admin/status and draws the round, participants, accuracy and loss
 * curves (the simulation's SVG charts), the top Hessian eigenvalue when the server computes it, and the clients.
 * The admin token (when the server wants one) comes from `#token=...` in the URL or the form, and is kept in
 * sessionStorage for the tab's lifetime.
 */
import type { Series } from '../../sim/svg.js';
import type { FederationStatus } from '../../protocol/index.js';
import { accuracyChart, lossChart } from '../charts.js';

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

/** Whether rounds may still start: false once the federation is done, stopped or failed. */
const roundsAhead = (s: FederationStatus) => s.phase !== 'done' && !s.stopped && !s.failure;

/**
 * Connected, needed and joined are three different counts: a round starts once `minAvailable` joined clients are
 * connected (seen lately), and the federation has `config.clients` slots to join.
 */
function clientsSummary(s: FederationStatus): string {
  const needed = !roundsAhead(s) ? 'no more rounds' : `${s.minAvailable} needed to start a round${s.paused ? ' once resumed' : ''}`;
  return `${s.connected} connected · ${needed} · ${s.clients.length} joined of ${s.config.clients} slots`;
}

/** Why there is no round in progress. */
function noRound(s: FederationStatus): string {
  if (s.stopped) return 'no round: the federation was stopped';
  if (s.phase === 'done') return 'the federation is done';
  if (s.failure) return `no round: the federation failed (${s.failure})`;
  if (s.paused) return 'no round yet: paused by the admin';
  const missing = s.minAvailable - s.connected;
  return missing > 0 ? `no round yet: waiting for ${missing} more client${missing === 1 ? '' : 's'} to connect` : 'a round is starting';
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
  $('connected').textContent = roundsAhead(s) ? `${s.connected} / ${s.minAvailable}` : String(s.connected);
  $('connected-label').textContent = roundsAhead(s) ? 'clients connected / needed' : 'clients connected';
  $('clients-summary').textContent = clientsSummary(s);
  $('version').textContent = s.latestVersion === null ? '–' : String(s.latestVersion);

  const parts = $('participants');
  parts.replaceChildren();
  if (!s.round) parts.textContent = noRound(s);
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
  const size = { rounds: s.rounds, width: 560, height: 300 };
  $('chart-accuracy').innerHTML = accuracyChart({ title: 'accuracy per round', series: accSeries, ...size });
  $('chart-loss').innerHTML = lossChart({ title: 'loss per round', series: lossSeries, ...size });

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
