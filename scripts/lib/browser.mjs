// Launches Debian's Chromium through playwright-core with WebGPU on (SwiftShader when there is no
// GPU) and opens an empty cross-origin-isolated page from our server. Page console output goes
// to stderr so that stdout stays free for results.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.BRASA_CHROMIUM ?? '/usr/bin/chromium';
export const FIREFOX = process.env.BRASA_FIREFOX ?? '/usr/bin/firefox-esr';

/** Firefox's preferences for WebGPU without a GPU (its own implementation, on lavapipe). */
const FIREFOX_PREFS = {
  'dom.webgpu.enabled': true,
  'gfx.webgpu.ignore-blocklist': true,
  'dom.webgpu.workers.enabled': true,
};

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  // Lets memory tests collect garbage (`gc()`) before measuring the JS heap.
  '--js-flags=--expose-gc',
];

/**
 * @param {string} baseUrl the server's URL
 * @param {{ log?: (line: string) => void, path?: string, engine?: 'chromium' | 'firefox' }} [opts]
 *   path: the page to open; engine: Chromium (SwiftShader without a GPU) or Firefox ESR (its
 *   own WebGPU on lavapipe)
 * @returns {Promise<{ browser: import('playwright-core').Browser, page: import('playwright-core').Page }>}
 */
export async function openPage(baseUrl, { log = stderrLine, path = '/__blank', engine = 'chromium' } = {}) {
  if (engine === 'firefox') return openFirefoxPage(baseUrl, { log, path });
  if (engine !== 'chromium') throw new Error(`unknown browser ${engine} (chromium or firefox)`);
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh --test (apt-get install chromium)`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => log(`[page ${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log(`[page error] ${e.message}`));
    await page.goto(`${baseUrl}${path}`);
    return { browser, page };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

/**
 * Firefox ESR through puppeteer-core (WebDriver BiDi), same contract as openPage: the returned
 * page has Playwright's `evaluate` / `exposeFunction` / `on('console')` shape for what we use.
 */
async function openFirefoxPage(baseUrl, { log, path }) {
  if (!existsSync(FIREFOX)) {
    throw new Error(`${FIREFOX} is missing: run scripts/setup.sh --test (apt-get install firefox-esr)`);
  }
  const puppeteer = (await import('puppeteer-core')).default;
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => log(`[page ${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log(`[page error] ${e.message}`));
    await page.goto(`${baseUrl}${path}`);
    return { browser, page };
  } catch (e) {
    await browser.close();
    throw e;
  }
}

/**
 * Launches Chromium with its own profile directory (a fresh one is an empty cache, as for a new
 * visitor; reusing it keeps Cache Storage and OPFS) and `performance.measureUserAgentSpecificMemory()`
 * answering at once.
 * @param {string} userDataDir
 * @returns {Promise<import('playwright-core').BrowserContext>}
 */
export async function launchContext(userDataDir) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh --test (apt-get install chromium)`);
  }
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, '--enable-blink-features=ForceEagerMeasureMemory'],
  });
}

/** Opens a page of `context` at `url`, with its console on `log`. */
export async function newPage(context, url, log = stderrLine) {
  const page = await context.newPage();
  page.on('console', (m) => log(`[page ${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log(`[page error] ${e.message}`));
  await page.goto(url);
  return page;
}

function stderrLine(line) {
  process.stderr.write(line + '\n');
}
