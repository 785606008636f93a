/**
 * The browser client page: keeps this browser's identity (name + key, and the token) in localStorage so a reload
 * rejoins as the same client and picks up its round; runs the protocol and training in a Web Worker (worker.ts);
 * shows round, loss, samples/s and a loss chart; classifies a drawn digit with the global model on this device
 * (the worker's onnxruntime-web session) or on the server (Open Inference Protocol, POST /v2/models/<m>/infer).
 *
 * URL parameters: `?server=http://host:port` (default: this page's origin; another origin must allow this one by
 * CORS), `?threads=N` (onnxruntime-web wasm threads, default 1), `?device=cpu|webgpu` (default: WebGPU when
 * the browser has an adapter, else wasm), `#token=...` (client token; kept in localStorage;
 * such a link joins at once, as the Join button does) and `#inferenceToken=...`. The fragment is taken off the
 * address (and so the history) before anything else runs.
 */
import type { ClientRoundReport, TrainTaskMessage } from '../../client/round.js';
import type { FromWorker, ToWorker } from './messages.js';
import { lossChart } from '../charts.js';

const STORE = 'fedman.browserClient';
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

interface Stored { name: string; key: string; token: string; inferenceToken: string; joined: boolean; rounds: ClientRoundReport[] }

function randomId(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** The stored identity, with the tokens of a `#token=…&inferenceToken=…` link; `fromLink`: the link gave a client token. */
function loadStored(): { stored: Stored; fromLink: boolean } {
  let s: Partial<Stored> = {};
  try { s = JSON.parse(localStorage.getItem(STORE) ?? '{}') as Partial<Stored>; } catch { /* a fresh identity */ }
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.size) history.replaceState(null, '', location.pathname + location.search);
  const stored: Stored = {
    name: s.name ?? `browser-${randomId(4)}`, key: s.key ?? randomId(24),
    token: hash.get('token') ?? s.token ?? '', inferenceToken: hash.get('inferenceToken') ?? s.inferenceToken ?? '', joined: s.joined ?? false,
    rounds: Array.isArray(s.rounds) ? s.rounds : [],
  };
  return { stored, fromLink: hash.has('token') };
}

const { stored, fromLink } = loadStored();
const save = () => localStorage.setItem(STORE, JSON.stringify(stored));
save();
const query = new URLSearchParams(location.search);
const server = query.get('server') ?? location.origin;
const threads = Number(query.get('threads') ?? 1) || 1;
const wantDevice = ((d) => (d === 'cpu' || d === 'webgpu' ? d : 'auto'))(query.get('device'));

/** What the page knows, also for tests and other scripts on the page (`window.fedmanClient`). */
const state = {
  clientId: null as number | null, rejoined: false, model: '', phase: 'idle', threads: 1, device: '' as string,
  /** The federation's rounds, once joined (0 before). */
  federationRounds: 0,
  /** This client's rounds, kept across reloads. */
  rounds: stored.rounds,
  lastTask: null as TrainTaskMessage | null, uploads: stored.rounds.filter((r) => r.outcome !== 'rejected').length, samplesPerSecond: [] as number[], error: '',
  /** The last retry message while the server cannot be reached (or refuses this origin), else ''. */
  warning: '',
};
(window as unknown as { fedmanClient: typeof state }).fedmanClient = state;

function log(line: string): void {
  const el = $('log');
  el.textContent += `${new Date().toLocaleTimeString()}  ${line}\n`;
  el.scrollTop = el.scrollHeight;
}

function drawChart(): void {
  const pts = state.rounds.filter((r) => r.outcome !== 'rejected').map((r) => [r.round, r.loss] as const);
  $('chart').innerHTML = lossChart({ title: 'local training loss', series: [{ name: 'loss', points: pts }], rounds: state.federationRounds, width: 520, height: 280 });
}

let worker: Worker | null = null;
let nextPrediction = 0;
const pending = new Map<number, (m: Extract<FromWorker, { type: 'prediction' }>) => void>();

function onWorker(m: FromWorker): void {
  switch (m.type) {
    case 'joined':
      state.clientId = m.clientId; state.rejoined = m.rejoined; state.model = m.federation.model; state.threads = m.threads; state.device = m.device;
      $('device').textContent = m.device === 'webgpu' ? 'WebGPU' : 'wasm';
      $('device').title = m.deviceDetail;
      log(`training on ${m.deviceDetail}`);
      state.federationRounds = m.federation.rounds;
      stored.joined = true; save();
      drawChart();
      $('client-id').textContent = String(m.clientId);
      $('samples').textContent = String(m.numSamples);
      $('federation').textContent = `${m.federation.name}: ${m.federation.algorithm}${m.federation.man > 0 ? ` + MAN ζ=${m.federation.man}` : ''}, ${m.federation.rounds} rounds`;
      log(`${m.rejoined ? 'rejoined' : 'joined'} as client ${m.clientId} (${m.numSamples} local samples)`);
      break;
    case 'phase':
      state.phase = m.phase;
      $('phase').textContent = m.phase + (m.round ? ` round ${m.round}` : '');
      document.body.dataset.phase = m.phase;
      if (m.round) $('round').textContent = String(m.round);
      if (m.detail) log(m.detail);
      // A retry (server unreachable, refused by CORS, 503) shows until things move on.
      state.warning = m.detail && /retrying/.test(m.detail) ? m.detail : '';
      $('error').textContent = state.warning || state.error;
      break;
    case 'progress':
      $('loss').textContent = m.loss.toFixed(4);
      $('speed').textContent = m.samplesPerSecond.toFixed(0);
      break;
    case 'round':
      state.rounds.push(m.report); state.lastTask = m.task; state.samplesPerSecond.push(m.samplesPerSecond);
      save();
      if (m.report.outcome !== 'rejected') state.uploads++;
      $('uploads').textContent = String(state.uploads);
      $('loss').textContent = m.report.loss.toFixed(4);
      $('speed').textContent = m.samplesPerSecond.toFixed(0);
      log(`round ${m.report.round}: ${m.report.steps} steps, loss ${m.report.loss.toFixed(4)}, ${m.samplesPerSecond.toFixed(0)} samples/s; ` +
        (m.report.outcome === 'rejected' ? `not counted: ${m.report.message}` : `uploaded (${m.received}/${m.expected})`));
      drawChart();
      break;
    case 'prediction':
      pending.get(m.id)?.(m);
      pending.delete(m.id);
      break;
    case 'error': {
      const joining = state.clientId === null;
      // A failed join leaves nothing running: give the form back so the user can fix the token or the name.
      if (joining) { worker?.terminate(); worker = null; $<HTMLButtonElement>('join').disabled = false; onWorker({ type: 'phase', phase: 'error' }); }
      state.error = joining ? `could not join: ${m.message}${m.status === 401 ? ' (check the client token)' : ''}` : m.message;
      $('error').textContent = state.error;
      log(`error: ${state.error}`);
      break;
    }
  }
}

function start(): void {
  if (worker) return;
  stored.token = $<HTMLInputElement>('token').value;
  stored.name = $<HTMLInputElement>('name').value.trim() || stored.name;
  save();
  worker = new Worker('/web/client-worker.js', { type: 'module' });
  worker.onmessage = (e: MessageEvent<FromWorker>) => onWorker(e.data);
  worker.onerror = (e) => onWorker({ type: 'error', message: e.message || 'the worker failed to start' });
  const msg: ToWorker = { type: 'start', server, token: stored.token, name: stored.name, key: stored.key, threads, device: wantDevice };
  worker.postMessage(msg);
  $<HTMLButtonElement>('join').disabled = true;
  state.error = '';
  $('error').textContent = '';
}

// --- the drawing pad and the two ways to classify it ------------------------------------------------------------

const pad = $<HTMLCanvasElement>('pad');
const ctx = pad.getContext('2d')!;
function clearPad(): void { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, pad.width, pad.height); }
clearPad();
let drawing = false;
pad.addEventListener('pointerdown', (e) => { drawing = true; ctx.beginPath(); ctx.moveTo(e.offsetX, e.offsetY); });
pad.addEventListener('pointermove', (e) => {
  if (!drawing) return;
  ctx.strokeStyle = '#fff'; ctx.lineWidth = 22; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
  ctx.lineTo(e.offsetX, e.offsetY); ctx.stroke();
});
for (const ev of ['pointerup', 'pointerleave']) pad.addEventListener(ev, () => { drawing = false; });

/** The drawing as a 28×28 grey image in [0, 1] (MNIST's layout: white digit on black). */
function sample(): Float32Array {
  const small = document.createElement('canvas');
  small.width = 28; small.height = 28;
  const c = small.getContext('2d')!;
  c.drawImage(pad, 0, 0, 28, 28);
  const px = c.getImageData(0, 0, 28, 28).data;
  return Float32Array.from({ length: 28 * 28 }, (_, i) => px[4 * i]! / 255);
}

const argmax = (p: ArrayLike<number>) => { let k = 0; for (let i = 1; i < p.length; i++) if (p[i]! > p[k]!) k = i; return k; };

async function predictLocal(): Promise<void> {
  if (!worker || state.clientId === null) { $('pred-local').textContent = 'join first'; return; }
  const id = nextPrediction++;
  const got = new Promise<Extract<FromWorker, { type: 'prediction' }>>((resolve) => pending.set(id, resolve));
  worker.postMessage({ type: 'predict', id, x: sample() } satisfies ToWorker);
  const m = await got;
  const k = argmax(m.probabilities);
  $('pred-local').textContent = String(k);
  $('pred-local-detail').textContent = `p = ${m.probabilities[k]!.toFixed(3)}, model version ${m.version}`;
}

async function predictServer(): Promise<void> {
  stored.inferenceToken = $<HTMLInputElement>('inference-token').value; save();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (stored.inferenceToken) headers.authorization = `Bearer ${stored.inferenceToken}`;
  try {
    const models = await fetch(`${server}/v2/models/${encodeURIComponent(state.model || 'model')}`, { headers });
    if (!models.ok) throw new Error(((await models.json()) as { error: string }).error);
    const meta = (await models.json()) as { name: string; inputs: { name: string; datatype: string; shape: number[] }[] };
    const input = meta.inputs[0]!;
    const body = { inputs: [{ name: input.name, datatype: 'FP32', shape: [1, ...input.shape.slice(1)], data: Array.from(sample()) }] };
    const res = await fetch(`${server}/v2/models/${encodeURIComponent(meta.name)}/infer`, { method: 'POST', headers, body: JSON.stringify(body) });
    const out = (await res.json()) as { error?: string; model_version: string; outputs: { data: number[] }[] };
    if (!res.ok) throw new Error(out.error);
    const logits = out.outputs[0]!.data;
    $('pred-server').textContent = String(argmax(logits));
    $('pred-server-detail').textContent = `model version ${out.model_version}`;
  } catch (err) {
    $('pred-server').textContent = '–';
    $('pred-server-detail').textContent = (err as Error).message;
  }
}

$('clear').addEventListener('click', clearPad);
$('predict-local').addEventListener('click', () => void predictLocal());
$('predict-server').addEventListener('click', () => void predictServer());
$('join-form').addEventListener('submit', (e) => { e.preventDefault(); start(); });
$('forget').addEventListener('click', () => { localStorage.removeItem(STORE); location.reload(); });
$<HTMLInputElement>('token').value = stored.token;
$<HTMLInputElement>('name').value = stored.name;
$<HTMLInputElement>('inference-token').value = stored.inferenceToken;
$('uploads').textContent = String(state.uploads);
drawChart();
// A client that joined before keeps going after a reload: same name and key, so the server gives back its id.
// A `#token=` link exists to join with, so it joins at once as the button would.
if (stored.joined || fromLink) start();
