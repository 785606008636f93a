/**
 * Headless Chromium for the page tests, driven by playwright-core: Debian's chromium (CI installs it with
 * apt-get), loopback only, no background networking (this machine's network is closed; Chromium would keep
 * trying Google's hosts), a fresh profile per launch.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';
import type { Test } from 'tap';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-default-apps', '--disable-extensions',
];

export interface BrowserSession { context: BrowserContext; page: Page; errors: string[]; profile: string; close(): Promise<void> }

/** Chromium's WebGPU on SwiftShader, its bundled software Vulkan driver (needs a page served from 127.0.0.1). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'];

/**
 * A persistent context (fresh profile directory, removed by close()) and its first page; page errors are
 * collected. `webgpu`: with a WebGPU adapter (SwiftShader) instead of no GPU at all.
 */
export async function launchChromium(opts: { webgpu?: boolean } = {}): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  const profile = await mkdtemp(path.join(os.tmpdir(), 'fedman-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 },
    args: opts.webgpu ? [...FLAGS.filter((f) => f !== '--disable-gpu'), ...WEBGPU_FLAGS] : FLAGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  const close = async () => { await context.close(); await rm(profile, { recursive: true, force: true }); };
  return { context, page, errors, profile, close };
}

/** launchChromium, closed at the test's teardown. */
export async function openBrowser(t: Test, opts: { webgpu?: boolean } = {}): Promise<BrowserSession> {
  const b = await launchChromium(opts);
  t.teardown(b.close);
  return b;
}

/** The numeric tick labels of the SVG chart in `selector` (src/sim/svg.ts: y labels are right-aligned, x labels centred). */
export function chartTicks(page: Page, selector: string): Promise<{ x: number[]; y: number[] }> {
  return page.$eval(`${selector} svg`, (svg) => {
    const ticks = (anchor: string) => [...svg.querySelectorAll(`text[text-anchor="${anchor}"]`)]
      .map((e) => Number(e.textContent)).filter((v) => !Number.isNaN(v));
    return { x: ticks('middle'), y: ticks('end') };
  });
}

/** How many pixels of a PNG are within `tol` of an RGB colour in every channel. */
export function countColor(png: Buffer, rgb: [number, number, number], tol = 40): number {
  const img = PNG.sync.read(png);
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (Math.abs(img.data[i]! - rgb[0]) <= tol && Math.abs(img.data[i + 1]! - rgb[1]) <= tol && Math.abs(img.data[i + 2]! - rgb[2]) <= tol) n++;
  }
  return n;
}

export function pngSize(png: Buffer): { width: number; height: number } {
  const img = PNG.sync.read(png);
  return { width: img.width, height: img.height };
}
