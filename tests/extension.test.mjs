// The browser extension (extension/, built by scripts/build-extension.mjs), end to end in headless
// Chromium: the real side panel, opened by the toolbar action through CDP
// (Extensions.triggerAction, which also grants activeTab as a user's click does), summarizes a
// page served on localhost with the real model; the engine runs in the offscreen document and
// keeps going while the service worker is stopped and the panel is closed. Also: the manifest's
// permissions and CSP, the content script's extraction, the token estimate against llama.cpp's
// counts, and the trimming of long pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { serveFile } from '../scripts/lib/server.mjs';
import { buildExtension } from '../scripts/build-extension.mjs';
import { MODEL, repoRoot, requireInputs } from './helpers.mjs';
import { ExtensionBrowser } from './side-panel.mjs';
import { cutToTokens, estimateTokens, fitConversation } from '../extension/src/context.js';

/** Screenshots of the panel, for people to look at (git-ignored). */
const ARTIFACTS = path.join(repoRoot, 'test-results');

// ---- fixture pages -------------------------------------------------------------------------

const NAV = '<nav><a href="/">Home</a> <a href="/pricing">Pricing</a> <a href="/login">Subscribe now</a></nav>';
const FOOTER = '<footer>Copyright Example Media Group. Cookie settings.</footer>';
const SCRIPT = '<script>window.trackingPixelLoaded = "trackingPixelLoaded";</script>';
const ASIDE = '<aside><h3>Related</h3><ul><li>Ten gadgets for your kitchen</li></ul></aside>';

const ARTICLE_TEXT = [
  'Skerryvore lighthouse stands on a reef of rock twelve miles west of the island of Tiree.',
  'Built from granite between 1838 and 1844, it is the tallest lighthouse in Scotland.',
  'For a century, three keepers lived in the tower, trimming the lamp each night and logging the storms that shook it.',
];

const page = (title, body) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

const PAGES = {
  '/article.html': page(
    'The lighthouse on the reef',
    `${NAV}${SCRIPT}<main><article><h1>The lighthouse on the reef</h1>${ARTICLE_TEXT.map((p) => `<p>${p}</p>`).join('')}</article></main>${ASIDE}${FOOTER}`,
  ),
  // Nothing Readability takes for an article: the fallback drops the page furniture.
  '/app.html': page(
    'Train times',
    `${NAV}${SCRIPT}<div id="app"><div>Departures from Glasgow Queen Street</div><div>Oban 08:21 platform 3</div><div>Mallaig 10:40 platform 4</div></div>${FOOTER}`,
  ),
  '/long.html': page(
    'A long report',
    `${NAV}<article><h1>A long report</h1>${Array.from(
      { length: 80 },
      (_, i) => `<p>Paragraph ${i + 1} of the report describes the harbour, the ferries and the weather of the western isles in some detail.</p>`,
    ).join('')}</article>${FOOTER}`,
  ),
  '/other.html': page('Another tab', '<article><p>This tab was never clicked on, so brasa may not read it.</p></article>'),
};

// ---- the server: the pages and the model, with CORS for the extension's origin --------------

let server;
let baseUrl;
/** Model bytes sent since the last reset. */
let modelBytes = 0;

async function startFixtureServer() {
  const http = createServer((req, res) => {
    const urlPath = new URL(req.url, 'http://x').pathname;
    if (PAGES[urlPath]) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(PAGES[urlPath]);
    }
    if (urlPath === '/model.gguf') {
      // An extension page fetches cross-origin without host permissions: the server must allow
      // it, as Hugging Face does (Access-Control-Allow-Origin: *).
      res.setHeader('Access-Control-Allow-Origin', '*');
      return void serveFile(req, res, MODEL, 'model.gguf', (n) => (modelBytes += n)).catch(() => res.destroy());
    }
    res.writeHead(404).end();
  });
  await new Promise((ok) => http.listen(0, '127.0.0.1', ok));
  return http;
}

// ---- the browser, with the extension and the side panel through CDP --------------------------

let browser;
let profile;
let context;
let extensionId;
let dist;

/** The panel's visible state. */
function panelState() {
  const text = (sel) => document.querySelector(sel)?.textContent ?? '';
  return {
    engine: text('#engine'),
    notice: document.getElementById('notice').hidden ? '' : text('#notice'),
    attachment: document.getElementById('attachment').hidden ? '' : text('#attachment'),
    turns: [...document.querySelectorAll('.turn')].map((t) => ({
      role: t.classList.contains('user') ? 'user' : 'assistant',
      text: t.querySelector('.text').textContent,
      streaming: t.querySelector('.text').classList.contains('streaming'),
      notes: [...t.querySelectorAll('.note')].map((n) => n.textContent),
    })),
  };
}

before(async () => {
  requireInputs();
  ({ dist } = await buildExtension());
  server = await startFixtureServer();
  baseUrl = `http://127.0.0.1:${server.address().port}`;
  profile = mkdtempSync(path.join(os.tmpdir(), 'brasa-ext-'));
  browser = await ExtensionBrowser.launch(dist, profile);
  ({ context, id: extensionId } = browser);
});

after(async () => {
  await browser?.close();
  // The profile holds the model twice (the Cache Storage copy and the OPFS one).
  if (profile) await fs.rm(profile, { recursive: true, force: true });
  await new Promise((ok) => (server ? server.close(ok) : ok()));
});

// ---- the package ---------------------------------------------------------------------------

test('the build is a loadable extension with the engine, its Worker and wasm, and the same files zipped', async () => {
  const files = await listFiles(dist);
  for (const name of ['manifest.json', 'background.js', 'content.js', 'panel.html', 'options.html', 'offscreen.html', 'icons/icon-128.png']) {
    assert.ok(files.includes(name), `${name} is missing from the build`);
  }
  assert.ok(files.some((f) => /^assets\/brasa_bg-.*\.wasm$/.test(f)), 'the wasm file is missing');
  assert.ok(files.some((f) => /^assets\/worker-.*\.js$/.test(f)), "the engine's Worker is missing");
  const zipped = Object.keys(unzipSync(readFileSync(path.join(repoRoot, 'extension/brasa-extension.zip')))).filter((f) => !f.endsWith('/'));
  assert.deepEqual(zipped.sort(), files.sort());
  // The service worker is running, so Chrome accepted the manifest.
  assert.match(extensionId, /^[a-p]{32}$/);
});

test('the manifest asks for the least permissions and its CSP allows wasm but no eval or remote code', async () => {
  const manifest = JSON.parse(await fs.readFile(path.join(dist, 'manifest.json'), 'utf8'));
  assert.equal(manifest.manifest_version, 3);
  // The set extension/README.md documents, each for one reason.
  assert.deepEqual([...manifest.permissions].sort(), ['activeTab', 'offscreen', 'scripting', 'sidePanel', 'storage']);
  for (const key of ['host_permissions', 'optional_host_permissions', 'optional_permissions', 'content_scripts', 'web_accessible_resources', 'externally_connectable']) {
    assert.equal(manifest[key], undefined, `the manifest must not have ${key}`);
  }
  const csp = manifest.content_security_policy.extension_pages;
  assert.doesNotMatch(csp, /'unsafe-eval'|'unsafe-inline'/);
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['script-src'], ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(directives['worker-src'], ["'self'"]);
  assert.deepEqual(directives['default-src'], ["'none'"]);
  // Nothing in the built code evaluates strings or loads code from elsewhere.
  for (const file of (await listFiles(dist)).filter((f) => f.endsWith('.js'))) {
    const code = await fs.readFile(path.join(dist, file), 'utf8');
    assert.doesNotMatch(code, /\beval\(|new Function\(|importScripts\(|import\(\s*["'`]https?:/, file);
  }
});

async function listFiles(dir, prefix = '') {
  const out = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)));
    else out.push(prefix + entry.name);
  }
  return out;
}

// ---- fitting the context (pure) --------------------------------------------------------------

test("the token estimate is never below llama.cpp's gemma-3 token counts", () => {
  const ref = JSON.parse(readFileSync(path.join(repoRoot, 'tests/reference/gemma-3-270m-q4_k_m/tokens.json'), 'utf8'));
  const cases = [
    ...Object.entries(ref.texts).map(([name, ids]) => ({ text: readFileSync(path.join(repoRoot, `tests/reference/texts/${name}.txt`), 'utf8'), ids })),
    ...ref.short_strings.filter((s) => !s.parse_special),
  ];
  for (const { text, ids } of cases) {
    const real = ids.length - 1; // without BOS
    assert.ok(estimateTokens(text) >= real, `${JSON.stringify(text.slice(0, 40))}: estimated ${estimateTokens(text)} < ${real} tokens`);
  }
  // And not wildly above on prose: the English text's estimate is within 2× of its count.
  const en = readFileSync(path.join(repoRoot, 'tests/reference/texts/en.txt'), 'utf8');
  assert.ok(estimateTokens(en) < 2 * (ref.texts.en.length - 1));
});

test('a long page is cut at a boundary to fit, with room kept for follow-ups and old turns dropped', () => {
  const text = Array.from({ length: 400 }, (_, i) => `Sentence number ${i} talks about ferries.`).join(' ');
  const cut = cutToTokens(text, 500);
  assert.equal(cut.trimmed, true);
  assert.ok(estimateTokens(cut.text) <= 500);
  assert.ok(text.startsWith(cut.text) && cut.text.endsWith('.'), 'cut at a sentence end');
  assert.deepEqual(cutToTokens('short', 10), { text: 'short', trimmed: false });

  const pageAsk = { text: 'Summarize this page in a few sentences.', page: { title: 'T', url: 'http://x/', text } };
  const fit = fitConversation({ history: [], ask: pageAsk, contextLength: 1024, maxTokens: 64 });
  const total = fit.messages.reduce((n, m) => n + estimateTokens(m.content) + 8, 16);
  assert.ok(total + 64 <= 1024, `estimated ${total} prompt tokens + 64 exceed the context`);
  assert.ok(fit.page.keptChars < fit.page.totalChars && fit.page.keptChars > 1000);
  assert.ok(1024 - 64 - total > 150, 'a quarter of the room is left for follow-up turns');
  assert.match(fit.messages.at(-1).content, /^Summarize this page in a few sentences\.\n\nTitle: T\n\nSentence number 0 [^]*cut here to fit\.\)$/);

  // Follow-ups: the page turn stays (cut again if needed), the oldest plain turns go first.
  const history = [{ role: 'user', ...pageAsk }, { role: 'assistant', text: 'A summary. '.repeat(20) }];
  for (let i = 0; i < 6; i++) history.push({ role: 'user', text: `Question ${i} ${'word '.repeat(60)}` }, { role: 'assistant', text: 'Answer '.repeat(60) });
  const later = fitConversation({ history, ask: { text: 'And the weather?' }, contextLength: 1024, maxTokens: 64 });
  assert.ok(later.droppedTurns > 0 && later.droppedTurns % 2 === 0);
  assert.match(later.messages[0].content, /^Summarize this page in a few sentences\.\n\nTitle: T\n/, 'the page turn is kept');
  assert.ok(later.earlierPage.keptChars < fit.page.keptChars, 'the page was cut again to make room');
  assert.equal(later.page, null);
  assert.equal(later.messages.at(-1).content, 'And the weather?');
  const roles = later.messages.map((m) => m.role);
  roles.forEach((r, i) => assert.equal(r, i % 2 ? 'assistant' : 'user', 'turns alternate'));
  assert.throws(() => fitConversation({ history: [], ask: { text: 'x '.repeat(2000) }, contextLength: 512, maxTokens: 64 }), RangeError);
});

// ---- the content script --------------------------------------------------------------------

test("the content script reads the article's text without menus, scripts, sidebars or footers", async () => {
  const tab = await context.newPage();
  try {
    const read = async (urlPath) => {
      await tab.goto(baseUrl + urlPath);
      // The built content script, as chrome.scripting injects it (a classic script).
      await tab.addScriptTag({ path: path.join(dist, 'content.js') });
      return tab.evaluate(() => globalThis.brasaReadPage());
    };
    const article = await read('/article.html');
    assert.equal(article.method, 'readability');
    assert.equal(article.title, 'The lighthouse on the reef');
    for (const sentence of ARTICLE_TEXT) assert.ok(article.text.includes(sentence), `missing: ${sentence}`);
    for (const junk of ['Pricing', 'Subscribe', 'trackingPixel', 'Copyright', 'gadgets']) assert.ok(!article.text.includes(junk), `kept: ${junk}`);
    assert.match(article.text, /Tiree\.\n\nBuilt/, 'paragraphs stay apart');

    const app = await read('/app.html');
    assert.equal(app.method, 'body');
    assert.match(app.text, /Oban 08:21 platform 3/);
    for (const junk of ['Pricing', 'trackingPixel', 'Copyright']) assert.ok(!app.text.includes(junk), `kept: ${junk}`);
  } finally {
    await tab.close();
  }
});

// ---- the side panel, end to end ------------------------------------------------------------

let articleTab;
let panel;

test('the options page saves the model URL and the engine loads it into the cache', async () => {
  const options = await context.newPage();
  await options.goto(`chrome-extension://${extensionId}/options.html`);
  await options.fill('#url', `${baseUrl}/model.gguf`);
  await options.fill('#context-length', '1024');
  await options.fill('#max-tokens', '16');
  await options.fill('#temperature', '0');
  await options.click('#save');
  await options.waitForFunction(() => /^Ready|did not load/.test(document.getElementById('result').textContent), null, { timeout: 120_000 });
  assert.match(await options.textContent('#result'), /^Ready: .*gemma3/);
  const { size } = await fs.stat(MODEL);
  assert.equal(modelBytes, size, 'the model was downloaded once');
  await options.waitForFunction(() => /model\.gguf — 253 MB/.test(document.getElementById('stored').textContent), null, { timeout: 10_000 });
  await options.close();
});

test('the side panel summarizes the page; the reply goes on while the panel is closed and the service worker stopped', async () => {
  articleTab = await context.newPage();
  await articleTab.goto(`${baseUrl}/article.html`);
  modelBytes = 0;
  panel = await browser.openSidePanel(articleTab);
  await panel.waitFor(() => document.getElementById('engine').classList.contains('ready'), null, { what: 'the engine to be ready' });
  assert.equal(modelBytes, 0, 'the model stayed loaded in the offscreen document');
  // The engine runs in the offscreen document, not in the panel or the service worker.
  const contexts = await panel.evaluate(() => chrome.runtime.getContexts({}).then((c) => c.map((x) => x.contextType).sort()));
  assert.deepEqual(contexts, ['BACKGROUND', 'OFFSCREEN_DOCUMENT', 'SIDE_PANEL']);

  await panel.evaluate(() => document.getElementById('summarize').click());
  const firstWords = await panel.waitFor(() => document.querySelector('.turn.assistant .text.streaming')?.textContent, null, {
    timeout: 300_000,
    what: 'the first words of the reply',
  });
  const t0 = Date.now();
  // Close the panel mid-reply and open it again: it picks the reply up from the engine host.
  await browser.closeSidePanel(panel);
  panel = await browser.openSidePanel(articleTab);
  // Chrome stops an idle service worker after 30 s; stop it now: the reply streams on regardless.
  await browser.stopServiceWorker();
  await panel.waitFor(() => document.querySelector('.turn.assistant') && !document.querySelector('.streaming'), null, {
    timeout: 300_000,
    what: 'the reply to finish',
  });
  const state = await panel.evaluate(panelState);
  console.error(`[extension] summary (${((Date.now() - t0) / 1000).toFixed(0)} s after the first words): ${JSON.stringify(state.turns.at(-1))}`);
  assert.equal(await browser.serviceWorkerRunning(), false, 'the service worker stayed stopped');
  const [user, reply] = state.turns;
  assert.equal(user.text, 'Summarize this page in a few sentences.');
  assert.match(user.notes.join(' '), /Whole page sent/);
  assert.ok(reply.text.startsWith(firstWords), 'the reopened panel continues the same reply');
  assert.ok(reply.text.length > firstWords.length, 'the reply went on');
  assert.ok(!reply.text.startsWith(user.text), 'the reply repeats the question');
  const pageWords = new Set(ARTICLE_TEXT.join(' ').toLowerCase().match(/[a-z]{5,}/g));
  const said = reply.text.toLowerCase().match(/[a-z]{5,}/g) ?? [];
  assert.ok(said.some((w) => pageWords.has(w)), `the summary mentions no word of the page: ${reply.text}`);
  assert.match(reply.notes.join(' '), /^16 tokens/);
  await panel.screenshot(path.join(ARTIFACTS, 'extension-panel.png'));
});

test('a reply cut off by the engine stopping says so; the model then loads from the cache without a download', async () => {
  // The conversation and the loaded model outlived the panel closing above.
  assert.equal((await panel.evaluate(panelState)).turns.length, 2);
  // A new chat with a short question: little work for the emulated GPU to finish when cut.
  await panel.evaluate(() => {
    document.getElementById('new-chat').click();
    document.getElementById('input').value = 'Hi!';
    document.getElementById('composer').requestSubmit();
  });
  await panel.waitFor(() => document.querySelectorAll('.turn').length === 2, null, { what: 'the question to be sent' });
  // Stop the engine mid-reply (closes the offscreen document).
  await panel.evaluate(() => chrome.offscreen.closeDocument());
  const state = await panel.waitFor(
    () => !document.querySelector('.streaming') && document.querySelector('.turn:last-child .note')?.textContent,
    null,
    { what: 'the panel to see the engine stop' },
  );
  assert.match(state, /^The reply was cut off: the engine stopped \(it was closed, or it crashed\)/);
  assert.match(await panel.evaluate(() => document.getElementById('engine').textContent), /Engine stopped/);
  modelBytes = 0;
  const t0 = Date.now();
  await panel.evaluate(() => document.getElementById('retry').click());
  // The emulated GPU first finishes the work the closed engine had queued.
  await panel.waitFor(() => document.getElementById('engine').classList.contains('ready'), null, {
    timeout: 240_000,
    what: 'the model to load from the cache',
  });
  console.error(`[extension] engine restarted and the model loaded from the cache in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(modelBytes, 0, 'nothing was downloaded');
  const cached = await panel.evaluate(() => caches.open('brasa-models').then((c) => c.keys()).then((k) => k.map((r) => r.url)));
  assert.deepEqual(cached, [`${baseUrl}/model.gguf`]);
});

test('a page too long for the context is trimmed and the panel says how much is sent', async () => {
  // Same site: the activeTab grant of the click stays.
  await articleTab.goto(`${baseUrl}/long.html`);
  await panel.evaluate(() => document.getElementById('ask').click());
  const attachment = await panel.waitFor(() => !document.getElementById('attachment').hidden && document.getElementById('attachment').textContent, null, {
    what: 'the page to be attached',
  });
  assert.match(attachment, /A long report/);
  assert.match(attachment, /Trimmed to fit the 1,024-token context: the first [\d,]+ of [\d,]+ characters \(\d+%\) are sent/);
  await panel.screenshot(path.join(ARTIFACTS, 'extension-panel-trimmed.png'));
  await panel.evaluate(() => document.getElementById('detach').click());
});

test('a tab the user did not click the icon on gets a message saying how to grant access', async () => {
  const turns = (await panel.evaluate(panelState)).turns.length;
  const other = await context.newPage();
  await other.goto(`${baseUrl}/other.html`);
  await other.bringToFront();
  await panel.evaluate(() => document.getElementById('summarize').click());
  const notice = await panel.waitFor(() => !document.getElementById('notice').hidden && !/Reading/.test(document.getElementById('notice').textContent) && document.getElementById('notice').textContent, null, {
    what: 'the notice',
  });
  assert.match(notice, /click its toolbar icon/);
  assert.equal((await panel.evaluate(panelState)).turns.length, turns, 'nothing was sent');
  await other.close();
});

test('a model file chosen from the disk is copied into the extension and loaded from there', async () => {
  const options = await context.newPage();
  await options.goto(`chrome-extension://${extensionId}/options.html`);
  await options.setInputFiles('#file', MODEL);
  assert.equal(await options.evaluate(() => document.querySelector('input[name=kind]:checked').value), 'file');
  modelBytes = 0;
  await options.click('#save');
  await options.waitForFunction(() => /^Ready|did not load/.test(document.getElementById('result').textContent), null, { timeout: 180_000 });
  assert.match(await options.textContent('#result'), /^Ready: .*gemma3/);
  assert.equal(modelBytes, 0, 'nothing came from the network');
  await options.waitForFunction(() => /gemma-3-270m-q4_k_m\.gguf \(local file\) — 253 MB/.test(document.getElementById('stored').textContent), null, { timeout: 10_000 });
  // The panel follows the new settings.
  await panel.waitFor(() => document.getElementById('engine').classList.contains('ready') && document.getElementById('engine').title.startsWith('gemma-3-270m-q4_k_m.gguf:'), null, {
    what: 'the panel to show the local model',
  });
  await options.close();
});
