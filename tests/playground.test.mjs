// The playground (www/) as a user drives it, in headless Chromium (WebGPU on SwiftShader): on
// Vite's dev server, it loads the default model with progress and a working Cancel, streams a
// reply, stops one, regenerates, edits and resends, uses the settings, shows the GPU panel and the
// cache manager, keeps conversations across a reload, and fits a phone in both themes; without
// WebGPU it shows its explanation page; built with `vite build` and served from a subfolder, it
// works, then works offline. SwiftShader is slow (0.05–1 token/s here, with a fixed 10–40 s per
// request while the machine is busy), so replies are one or two tokens.
// Each test saves a screenshot under test-artifacts/playground/ (git-ignored; paths printed).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { createServer } from 'vite';
import { CHROMIUM, CHROMIUM_ARGS, newPage } from '../scripts/lib/browser.mjs';
import { startServer } from '../scripts/lib/server.mjs';
import { MODEL, repoRoot, requireInputs } from './helpers.mjs';

const execFileAsync = promisify(execFile);
const CONFIG = path.join(repoRoot, 'vite.config.ts');
const ARTIFACTS = path.join(repoRoot, 'test-artifacts/playground');
const MODEL_NAME = 'gemma-3-270m-q4_k_m.gguf';
const LOAD_TIMEOUT = 180_000;
const REPLY_TIMEOUT = 240_000;

/** The model's size as the page prints it (MiB, whole above 100), computed here from the file. */
const modelMiB = () => `${Math.round(statSync(MODEL).size / 2 ** 20)} MiB`;

async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.waitForTimeout(300); // drawers slide in for 0.2 s
  await page.screenshot({ path: file });
  console.log(`screenshot: ${path.relative(repoRoot, file)}`);
}

/**
 * Runs in the page before its scripts: records every state of the load strip (text, bar) into
 * `window.__load`, so a test can look at the progress of a load that is over.
 */
function recordLoadStrip() {
  window.__load = [];
  document.addEventListener('DOMContentLoaded', () => {
    const root = document.getElementById('load-status');
    const bar = document.getElementById('load-bar');
    const text = document.getElementById('load-text');
    const note = () => window.__load.push({ text: text.textContent, value: bar.value, max: bar.max, state: root.dataset.state });
    new MutationObserver(note).observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

/**
 * Starts Chromium and opens `url` with `initScripts` run before the page's own; `onRequest` sees
 * every request of the page and its workers from the first.
 */
async function openBrowser(url, { initScripts = [recordLoadStrip], onRequest } = {}) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  for (const script of initScripts) await context.addInitScript(script);
  if (onRequest) context.on('request', onRequest);
  const page = await newPage(context, url);
  return { browser, context, page };
}

const modelReady = (page) => page.waitForSelector('#model-badge[data-state="ready"]', { timeout: LOAD_TIMEOUT });

/** Waits until no reply is streaming and Send is back. */
const replyDone = (page) =>
  page.waitForFunction(() => !document.querySelector('.message[data-streaming]') && !document.getElementById('send').hidden, null, {
    timeout: REPLY_TIMEOUT,
  });

/** Types into a settings field and leaves it (as a person would). */
async function setSetting(page, key, value) {
  await page.click('#tabbtn-settings');
  await page.fill(`#setting-${key}`, String(value));
  await page.press(`#setting-${key}`, 'Tab');
}

/** The stats strip, `{ttft, prefill, decode, tokens, context, memory}` as shown. */
const readStats = (page) =>
  page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#stats [data-stat]')].map((e) => [e.dataset.stat, e.textContent])));

/** The conversation on screen: `[{role, text, note}]`. */
const readMessages = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('#messages .message')].map((m) => ({
      role: m.classList.contains('user') ? 'user' : 'assistant',
      text: m.querySelector('.body').textContent,
      note: m.querySelector('.note')?.textContent ?? '',
    })),
  );

/** A `<dl class="facts">` under `selector` as `{label: value}`. */
const readFacts = (page, selector) =>
  page.evaluate((sel) => {
    const out = {};
    for (const dt of document.querySelectorAll(`${sel} dt`)) out[dt.textContent] = dt.nextElementSibling.textContent;
    return out;
  }, selector);

/**
 * Starts recording, while a reply streams, its text and the live token count after every change,
 * as `{text, tokens}` into `window.__stream`.
 */
const recordStream = (page) =>
  page.evaluate(() => {
    window.__stream = [];
    window.__streamObserver?.disconnect();
    window.__streamObserver = new MutationObserver(() => {
      const body = document.querySelector('.message[data-streaming] .body');
      const tokens = document.querySelector('#stats [data-stat="tokens"]').textContent;
      const last = window.__stream.at(-1);
      if (body && (body.textContent !== last?.text || tokens !== last?.tokens)) window.__stream.push({ text: body.textContent, tokens });
    });
    for (const id of ['messages', 'stats']) {
      window.__streamObserver.observe(document.getElementById(id), { subtree: true, childList: true, characterData: true });
    }
  });

async function send(page, text) {
  await page.fill('#prompt', text);
  await page.press('#prompt', 'Enter');
}

before(() => requireInputs());

describe('the playground on the dev server', () => {
  let vite;
  let browser;
  let page;

  before(async () => {
    vite = await createServer({ configFile: CONFIG, server: { port: 0, host: '127.0.0.1' }, logLevel: 'warn' });
    await vite.listen();
    ({ browser, page } = await openBrowser(vite.resolvedUrls.local[0]));
  });

  after(async () => {
    await browser?.close();
    await vite?.close();
  });

  test('loads the default model with bytes, rate, ETA and phase; Cancel stops a load', async () => {
    // The page starts loading the default model by itself: cancel that load part-way.
    await page.waitForFunction(() => document.getElementById('load-bar').value > 0, null, { timeout: LOAD_TIMEOUT });
    await page.click('#load-cancel');
    await page.waitForSelector('#model-badge[data-state="none"]');
    assert.match(await page.textContent('#load-text'), /was cancelled/);
    assert.equal(await page.isEnabled('#send'), false, 'no model, no sending');

    await page.click('#load-default');
    await modelReady(page);
    const log = await page.evaluate(() => window.__load);
    const size = statSync(MODEL).size;
    const downloading = log.filter((s) => s.text.startsWith(`Downloading ${MODEL_NAME}:`));
    assert.ok(downloading.length >= 2, `progress was reported while downloading: ${JSON.stringify(log.slice(0, 5))}`);
    assert.ok(downloading.some((s) => s.value > 0 && s.value < s.max), 'the bar moved part-way');
    assert.ok(downloading.every((s) => s.max === size), 'the bar counts the bytes of the file');
    // "Downloading NAME: 12.3 MiB of 241 MiB (5%) · 30.1 MiB/s · 8 s left": the ETA agrees with the rest.
    const pattern = new RegExp(`of ${modelMiB()} \\((\\d+)%\\) · ([\\d.]+) (KiB|MiB)/s · (\\d+) s left$`);
    const unit = { KiB: 2 ** 10, MiB: 2 ** 20 };
    const sample = downloading.map((s) => ({ s, m: pattern.exec(s.text) })).find(({ m }) => m && Number(m[1]) < 90);
    assert.ok(sample, `no progress line like "… of ${modelMiB()} (N%) · R MiB/s · T s left": ${downloading[0].text}`);
    const rate = Number(sample.m[2]) * unit[sample.m[3]];
    const expected = (size - sample.s.value) / rate;
    assert.ok(Math.abs(Number(sample.m[4]) - expected) <= Math.max(2, 0.15 * expected), `ETA ${sample.m[4]} s, expected about ${expected.toFixed(1)} s`);
    assert.equal(await page.isHidden('#load-status'), true, 'the strip goes once the model is loaded');

    const facts = await readFacts(page, '#model-current');
    assert.equal(facts.Architecture, 'gemma3');
    assert.equal(facts['File size'], modelMiB());
    assert.match(facts['GPU memory'], /^\d+ MiB: weights \d+ MiB, K\/V cache [\d.]+ MiB, scratch [\d.]+ MiB$/);
    assert.match((await readStats(page)).memory, /^\d+ MiB plan$/);
    await screenshot(page, 'loaded');
  });

  test('a reply streams in token by token and respects the max tokens setting', async () => {
    await setSetting(page, 'temperature', 0);
    await setSetting(page, 'maxTokens', 2);
    await page.click('summary');
    await page.fill('#system-prompt', 'Be brief.');
    await page.press('#system-prompt', 'Tab');
    // Shift+Enter is a new line, not a send.
    await page.fill('#prompt', 'Name');
    await page.press('#prompt', 'Shift+Enter');
    assert.equal(await page.inputValue('#prompt'), 'Name\n');
    assert.equal((await readMessages(page)).length, 0);
    await recordStream(page);
    await send(page, 'Name a colour.');
    assert.equal(await page.isVisible('#stop'), true, 'Stop replaces Send while the reply streams');
    await replyDone(page);

    // Token 1 was on screen before token 2 came.
    const stream = await page.evaluate(() => window.__stream);
    assert.ok(stream.some((e) => e.tokens === '1 token…'), `the reply appeared token by token: ${JSON.stringify(stream)}`);
    assert.ok(stream.some((e) => e.text.trim() !== ''), 'text was shown while the reply streamed');
    const messages = await readMessages(page);
    assert.equal(messages.length, 2);
    const reply = messages[1];
    assert.ok(reply.text.trim().length > 0, 'the reply has text');
    assert.match(reply.note, /^2 tokens · .* · hit max tokens$/, 'max tokens 2 gave a 2-token reply');
    const stats = await readStats(page);
    assert.equal(stats.tokens, '2 tokens · hit max tokens');
    assert.match(stats.ttft, /^\d+(\.\d)? (ms|s)$/);
    assert.match(stats.prefill, /tok\/s · \d+ tokens/);
    assert.match(stats.decode, /^[\d.]+ tok\/s$/);
    const [used, length] = stats.context.split(' / ').map((n) => Number(n.replace(/,/g, '')));
    assert.equal(length, 4096);
    assert.ok(used > 2 && used < 100, `context used ${used}: the prompt and the 2 reply tokens`);
    await screenshot(page, 'reply');
  });

  test('Escape stops a reply mid-way; its text so far stays', async () => {
    await setSetting(page, 'maxTokens', 40);
    await recordStream(page);
    await send(page, 'Count from one to twenty.');
    await page.waitForFunction(() => window.__stream.some((e) => e.text.trim() !== ''), null, { timeout: REPLY_TIMEOUT });
    await page.keyboard.press('Escape');
    await replyDone(page);
    const reply = (await readMessages(page)).at(-1);
    assert.equal(reply.note, 'Stopped.');
    assert.ok(reply.text.trim().length > 0, 'the partial reply stays');
    assert.match((await readStats(page)).tokens, /^\d+ tokens?, stopped$/);
    assert.ok(Number((await readStats(page)).tokens.split(' ')[0]) < 40, 'stopped before max tokens');
    assert.equal(await page.isVisible('#stop'), false);
    await screenshot(page, 'stopped');
  });

  test('regenerate replaces the last reply; edit-and-resend drops what followed', async () => {
    await setSetting(page, 'maxTokens', 1);
    const before = await readMessages(page);
    await page.click('.message.assistant:last-child >> text=Regenerate');
    await replyDone(page);
    const regenerated = await readMessages(page);
    assert.equal(regenerated.length, before.length, 'the reply was replaced, not added');
    assert.match(regenerated.at(-1).note, /^1 token · /, 'the new reply used max tokens 1');

    await page.click('.message.user >> nth=0 >> text=Edit');
    await page.fill('.message.user textarea.edit', 'Name a fruit.');
    await page.press('.message.user textarea.edit', 'Enter');
    await replyDone(page);
    const edited = await readMessages(page);
    assert.equal(edited.length, 2, 'the turns after the edited one are gone');
    assert.equal(edited[0].text, 'Name a fruit.');
    assert.match(edited[1].note, /^1 token · /);
    assert.equal(await page.textContent('#conversation-list [aria-current="true"] .open'), 'Name a fruit.', 'the title follows the first message');
    await screenshot(page, 'edited');
  });

  test('model output renders as Markdown with raw HTML, images and script links neutralized', async () => {
    // The playground's own renderer (www/src/markdown.ts, served by Vite), on hostile text.
    const html = await page.evaluate(async () => {
      const { renderMarkdown } = await import('/src/markdown.ts');
      return renderMarkdown('**bold** <img src=x onerror="alert(1)"> <script>alert(2)</script> ![i](http://x/y.png) [l](javascript:alert(3)) `code`');
    });
    assert.match(html, /<strong>bold<\/strong>/);
    assert.match(html, /<code>code<\/code>/);
    assert.doesNotMatch(html, /<img|<script/i, html);
    assert.doesNotMatch(html, /href="javascript:/i, html);
    assert.match(html, /&lt;script&gt;/, 'raw HTML is shown as text');
  });

  test('the GPU panel shows the adapter, variants, features and limits', async () => {
    await page.click('#tabbtn-gpu');
    await page.waitForSelector('#tab-gpu dl');
    await page.emulateMedia({ colorScheme: 'dark' });
    const facts = await readFacts(page, '#tab-gpu');
    // The browser's own view of the adapter, asked here independently of the engine.
    const adapter = await page.evaluate(async () => {
      const a = await navigator.gpu.requestAdapter();
      const limits = Object.fromEntries(['maxStorageBufferBindingSize', 'maxComputeInvocationsPerWorkgroup'].map((n) => [n, a.limits[n]]));
      return { vendor: a.info.vendor, architecture: a.info.architecture, limits, features: [...a.features] };
    });
    assert.ok(facts['Browser reports'].includes(adapter.vendor) && facts['Browser reports'].includes(adapter.architecture), facts['Browser reports']);
    assert.equal(facts.Backend, 'BrowserWebGpu');
    const bytesOf = (text) => Number(/\(([\d,]+) B\)/.exec(text)[1].replace(/,/g, ''));
    const binding = bytesOf(facts['Storage buffer binding']);
    assert.ok(binding > 0 && binding <= adapter.limits.maxStorageBufferBindingSize, `binding ${binding} within the adapter's ${adapter.limits.maxStorageBufferBindingSize}`);
    assert.ok(Number(facts['Invocations per workgroup'].replace(/,/g, '')) <= adapter.limits.maxComputeInvocationsPerWorkgroup);
    if (facts.Reductions.startsWith('subgroup')) assert.ok(adapter.features.includes('subgroups'), 'subgroup kernels need the subgroups feature');
    assert.match(facts['Half precision (shader-f16)'], /^(on|off)/);
    if (facts['Half precision (shader-f16)'] === 'on') assert.ok(adapter.features.includes('shader-f16'));
    // SwiftShader is a CPU emulator: the prefill mat-mul's register tiles.
    assert.equal(facts['Prefill mat-mul tiles'], 'registers (CPU emulator)');
    assert.match(await page.textContent('#tab-gpu'), /Features enabled/);
    await screenshot(page, 'gpu-panel-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('conversations, the system prompt and the settings survive a reload; the model comes from the cache', async () => {
    const before = await readMessages(page);
    const title = await page.textContent('#conversation-list [aria-current="true"] .open');
    await page.reload();
    await page.waitForSelector('#messages .message');
    assert.deepEqual(await readMessages(page), before);
    assert.equal(await page.textContent('#conversation-list [aria-current="true"] .open'), title);
    assert.equal(await page.inputValue('#system-prompt'), 'Be brief.');
    await page.click('#tabbtn-settings');
    assert.equal(await page.inputValue('#setting-maxTokens'), '1');
    assert.equal(await page.inputValue('#setting-temperature'), '0');
    // The model was kept in Cache Storage by the first load: this one reads it from there.
    await modelReady(page);
    const log = await page.evaluate(() => window.__load);
    assert.ok(log.some((s) => s.text.startsWith(`Reading from the offline cache ${MODEL_NAME}:`)), JSON.stringify(log.slice(0, 3)));
    assert.ok(!log.some((s) => s.text.startsWith('Downloading')), 'nothing was downloaded');

    // A new chat starts empty; the old one is a click away.
    await page.click('#new-chat');
    assert.equal((await readMessages(page)).length, 0);
    assert.equal(await page.inputValue('#system-prompt'), '');
    await page.click(`#conversation-list .open[title="${title}"]`);
    assert.deepEqual(await readMessages(page), before);
  });

  test('the cache manager lists the cached model with its size and the quota; Delete removes it', async () => {
    await page.click('#tabbtn-cache');
    await page.waitForSelector('#cache-list');
    const rows = await page.$$eval('#cache-list li', (lis) => lis.map((li) => ({ name: li.querySelector('.name').textContent, size: li.querySelector('.size').textContent })));
    // One entry: the cancelled first load left nothing behind.
    assert.deepEqual(rows, [{ name: MODEL_NAME, size: modelMiB() }]);
    const estimate = await page.evaluate(() => navigator.storage.estimate());
    assert.ok(estimate.usage >= statSync(MODEL).size, 'the quota figure counts the cached model');
    assert.match(await page.textContent('#storage-estimate'), /used of .* this site may use/);
    await screenshot(page, 'cache-manager');
    await page.click(`#cache-list button[aria-label="Delete ${MODEL_NAME}"]`);
    await page.waitForSelector('#cache-list:not(ul)');
    assert.equal(await page.evaluate(async () => (await (await caches.open('brasa-models')).keys()).length), 0);
  });

  test('a URL is inspected from its header alone; a dropped broken file fails with its code; a picked file loads', async () => {
    await page.click('#tabbtn-model');
    await page.fill('#model-url', new URL(`models/${MODEL_NAME}`, vite.resolvedUrls.local[0]).href);
    await page.click('#tab-model button:text-is("Inspect")');
    await page.waitForSelector('#inspect-result dl');
    const header = await readFacts(page, '#inspect-result');
    assert.equal(header.Architecture, 'gemma3');
    assert.equal(header['File size'], modelMiB());
    const [amount, unit] = header['Header read'].split(' ');
    assert.ok(unit === 'KiB' || (unit === 'MiB' && Number(amount) <= 8), `only the header was fetched: ${header['Header read']}`);

    // A drop anywhere on the page: the overlay shows while dragging, the file loads, its error shows.
    const overlayShown = await page.evaluate(() => {
      const files = new DataTransfer();
      files.items.add(new File([new Uint8Array(64)], 'broken.gguf'));
      const fire = (type) => document.body.dispatchEvent(new DragEvent(type, { dataTransfer: files, bubbles: true, cancelable: true }));
      fire('dragenter');
      const shown = !document.getElementById('drop-overlay').hidden;
      fire('dragover');
      fire('drop');
      return shown;
    });
    assert.equal(overlayShown, true);
    assert.equal(await page.isHidden('#drop-overlay'), true);
    await page.waitForSelector('#load-status[data-state="error"]', { timeout: 60_000 });
    assert.match(await page.textContent('#load-text'), /^Could not load broken\.gguf: .+ \(bad_file\)$/);
    assert.equal(await page.getAttribute('#model-badge', 'data-state'), 'none');
    await screenshot(page, 'inspected-and-drop-error');

    await page.setInputFiles('#model-file', MODEL);
    await modelReady(page);
    const loaded = await readFacts(page, '#model-current');
    assert.equal(loaded.Source, MODEL_NAME);
    assert.match(loaded['GPU memory'], /^\d+ MiB: weights/, 'the plan comes from the file header too');
    const log = await page.evaluate(() => window.__load);
    assert.ok(log.some((s) => s.text.startsWith(`Reading the file ${MODEL_NAME}:`)));
  });

  test('fits a phone screen in light and dark; the theme toggle overrides the system', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling at phone width (${overflow} px too wide)`);
    // The panel becomes a drawer, off screen until opened (it slides there in 0.2 s).
    await page.waitForFunction(() => document.getElementById('panel').getBoundingClientRect().x >= innerWidth, null, { timeout: 2000 });
    assert.equal(await page.isVisible('#toggle-panel'), true);
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await background();
    await screenshot(page, 'phone-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    assert.notEqual(dark, light, 'prefers-color-scheme: dark gives the dark theme');
    await page.click('#toggle-panel');
    await page.click('#tabbtn-model');
    await screenshot(page, 'phone-dark-panel');
    assert.ok((await page.locator('#panel').boundingBox()).x < 390, 'the panel slid in');
    await page.keyboard.press('Escape');
    await screenshot(page, 'phone-dark');
    // Auto → light → dark: the toggle wins over the system's scheme.
    await page.click('#theme-toggle');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    assert.equal(await background(), light);
    await page.click('#theme-toggle');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await background(), dark);
    await page.click('#theme-toggle');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme ?? 'auto'), 'auto');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('without WebGPU: a page that says which browsers and flags have it', async () => {
    const hideWebGpu = () => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    const other = await openBrowser(vite.resolvedUrls.local[0], { initScripts: [hideWebGpu] });
    try {
      await other.page.waitForSelector('#no-webgpu:not([hidden])', { timeout: 60_000 });
      assert.equal(await other.page.isHidden('#app'), true);
      const text = await other.page.textContent('#no-webgpu');
      for (const word of ['Chrome', 'Edge', 'Safari', 'Firefox', 'chrome://flags/#enable-unsafe-webgpu', 'dom.webgpu.enabled']) {
        assert.ok(text.includes(word), `names ${word}`);
      }
      // The engine's own message (webgpu_unavailable), shown as it is.
      assert.match(await other.page.textContent('#no-webgpu-message'), /^WebGPU is not available/);
      await screenshot(other.page, 'no-webgpu');
    } finally {
      await other.browser.close();
    }
  });
});

describe('the built site, served from a subfolder', () => {
  let tmp;
  let server;
  let browser;
  let context;
  let page;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'brasa-site-'));
    // `npm run build`, as a person runs it, in its own process: Vite's dev server above set
    // NODE_ENV=development in this one, which would make a development build.
    const env = { ...process.env };
    delete env.NODE_ENV;
    await execFileAsync('npm', ['run', 'build', '--', '--outDir', path.join(tmp, 'playground'), '--emptyOutDir', '--logLevel', 'warn'], { cwd: repoRoot, env });
    // A static host: the site under /playground/, the model next to it (where the page looks).
    server = await startServer({ root: tmp, files: { [`/playground/models/${MODEL_NAME}`]: MODEL } });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('loads with relative paths only; offline, the page opens and the model loads from the cache', async () => {
    const paths = [];
    const origin = server.url;
    const onRequest = (r) => {
      const u = new URL(r.url());
      if (u.origin === origin) paths.push(u.pathname);
    };
    ({ browser, context, page } = await openBrowser(`${origin}/playground/index.html`, { onRequest }));
    await modelReady(page);
    assert.ok(paths.length > 0);
    assert.deepEqual(paths.filter((p) => !p.startsWith('/playground/')), [], 'every request stays in the subfolder');
    assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
    // The service worker has stored the site's files (it is active once its install finished).
    const active = await page.evaluate(() =>
      Promise.race([navigator.serviceWorker.ready.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 30_000))]),
    );
    assert.equal(active, true, `the service worker is active: ${await page.evaluate(async () => JSON.stringify((await navigator.serviceWorker.getRegistrations()).map((r) => [r.scope, r.active?.state, r.installing?.state])))}`);

    // Offline: no server at all, and the browser told it has no network.
    await server.close();
    server = null;
    await context.setOffline(true);
    await page.reload();
    await modelReady(page);
    const log = await page.evaluate(() => window.__load);
    assert.ok(log.some((s) => s.text.startsWith(`Reading from the offline cache ${MODEL_NAME}:`)), 'the model came from Cache Storage');
    // The memory plan read from the header on the first visit was kept for this one.
    assert.match((await readStats(page)).memory, /^\d+ MiB plan$/);
    // (No reply here: generating needs nothing from the network, and the tests above chat.)
    assert.equal(await page.isEnabled('#send'), true);
    await screenshot(page, 'built-offline');
  });
});
