// The playground (www/, served by Vite with vite.config.ts) loads the default model with its
// progress bar, in a cross-origin-isolated page, and generates text when the build can.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createServer } from 'vite';
import { openPage } from '../scripts/lib/browser.mjs';
import { repoRoot, requireInputs, MODEL } from './helpers.mjs';

let vite;
let browser;
let page;

before(async () => {
  requireInputs();
  assert.equal(path.resolve(MODEL), path.join(repoRoot, 'models/gemma-3-270m-q4_k_m.gguf'), 'the playground loads the default model');
  vite = await createServer({
    configFile: path.join(repoRoot, 'vite.config.ts'),
    server: { port: 0, host: '127.0.0.1' },
    logLevel: 'warn',
  });
  await vite.listen();
  const url = vite.resolvedUrls.local[0].replace(/\/$/, '');
  ({ browser, page } = await openPage(url, { path: '/' }));
});

after(async () => {
  await browser?.close();
  await vite?.close();
});

test('the playground loads the default model with progress', async () => {
  await page.waitForFunction(() => /^Loaded|^Error/.test(document.getElementById('status').textContent), null, {
    timeout: 120_000,
  });
  const state = await page.evaluate(() => ({
    status: document.getElementById('status').textContent,
    progress: document.getElementById('progress').value,
    adapter: document.getElementById('adapter').textContent,
    isolated: self.crossOriginIsolated,
  }));
  assert.match(state.status, /^Loaded /);
  assert.equal(state.progress, 1);
  assert.match(state.adapter, /^GPU: \S/);
  assert.equal(state.isolated, true);
});

test('the playground streams generated text into the page', async () => {
  assert.equal(await page.evaluate(() => document.getElementById('generate').disabled), false);
  await page.fill('#prompt', 'The capital of France is');
  await page.fill('#max-tokens', '4');
  await page.click('#generate');
  await page.waitForFunction(() => document.getElementById('stats').textContent !== '' || /^Error/.test(document.getElementById('status').textContent), null, {
    timeout: 300_000,
  });
  const out = await page.evaluate(() => ({
    text: document.getElementById('output').textContent,
    stats: document.getElementById('stats').textContent,
    status: document.getElementById('status').textContent,
  }));
  assert.doesNotMatch(out.status, /^Error/);
  assert.ok(out.text.trim().length > 0, 'no text came out');
  assert.match(out.stats, /tok\/s/);
});
