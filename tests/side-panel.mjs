// Drives an unpacked MV3 extension in headless Chromium the way a user does: its toolbar action is
// clicked through CDP's Extensions.triggerAction (which grants activeTab as a real click does, and
// needs --enable-unsafe-extension-debugging), and the real side panel it opens is driven over a
// raw CDP session on its target, since Playwright does not list side panels among its pages.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../scripts/lib/browser.mjs';

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

export class ExtensionBrowser {
  /**
   * Starts Chromium with the extension in `dist`, in a fresh profile at `userDataDir`.
   * @returns {Promise<ExtensionBrowser>}
   */
  static async launch(dist, userDataDir) {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh --test`);
    const context = await chromium.launchPersistentContext(userDataDir, {
      headless: true,
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS, '--enable-unsafe-extension-debugging', `--load-extension=${dist}`, `--disable-extensions-except=${dist}`],
    });
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
    return new ExtensionBrowser(context, new URL(worker.url()).host, await context.browser().newBrowserCDPSession());
  }

  constructor(context, id, cdp) {
    /** @type {import('playwright-core').BrowserContext} */
    this.context = context;
    /** The extension's id (the host of its chrome-extension:// URLs). */
    this.id = id;
    this.cdp = cdp;
  }

  async targets() {
    return (await this.cdp.send('Target.getTargets', { filter: [{}] })).targetInfos;
  }

  /** Whether the extension's service worker is running. */
  async serviceWorkerRunning() {
    return (await this.targets()).some((t) => t.type === 'service_worker' && t.url.includes(this.id));
  }

  /** Stops the service worker, as Chrome does after 30 s without events. */
  async stopServiceWorker() {
    const worker = (await this.targets()).find((t) => t.type === 'service_worker' && t.url.includes(this.id));
    assert.ok(worker, 'the service worker is not running');
    await this.cdp.send('Target.closeTarget', { targetId: worker.targetId });
  }

  /** Clicks the toolbar action on `tab` (a Playwright page) and attaches to the side panel it opens. */
  async openSidePanel(tab, panelPath = 'panel.html') {
    await tab.bringToFront();
    const tabTarget = (await this.targets()).find((t) => t.type === 'tab' && t.url === tab.url());
    assert.ok(tabTarget, `no tab target for ${tab.url()}`);
    await this.cdp.send('Extensions.triggerAction', { id: this.id, targetId: tabTarget.targetId });
    const url = `chrome-extension://${this.id}/${panelPath}`;
    const end = Date.now() + 10_000;
    let panel;
    while (!(panel = (await this.targets()).find((t) => t.type === 'page' && t.url === url))) {
      assert.ok(Date.now() < end, 'the side panel did not open');
      await pause(100);
    }
    const { sessionId } = await this.cdp.send('Target.attachToTarget', { targetId: panel.targetId, flatten: false });
    const session = new TargetSession(this.cdp, sessionId);
    await session.waitFor(() => document.readyState === 'complete', null, { what: 'the side panel to load' });
    return session;
  }

  /** Closes the side panel of `session` (chrome.sidePanel.close, Chrome 141+) and waits until it is gone. */
  async closeSidePanel(session, panelPath = 'panel.html') {
    // The panel's page goes away with the call: its answer may never come.
    await Promise.race([
      session.evaluate(() => chrome.windows.getCurrent().then((w) => chrome.sidePanel.close({ windowId: w.id }))).catch(() => {}),
      pause(2000),
    ]);
    const url = `chrome-extension://${this.id}/${panelPath}`;
    const end = Date.now() + 10_000;
    while ((await this.targets()).some((t) => t.type === 'page' && t.url === url)) {
      assert.ok(Date.now() < end, 'the side panel did not close');
      await pause(100);
    }
  }

  close() {
    return this.context.close();
  }
}

/** A CDP session on one target, by raw messages (Target.sendMessageToTarget). */
export class TargetSession {
  #next = 1;
  #waiting = new Map();

  constructor(browserCdp, sessionId) {
    this.cdp = browserCdp;
    this.sessionId = sessionId;
    browserCdp.on('Target.receivedMessageFromTarget', (event) => {
      if (event.sessionId !== sessionId) return;
      const message = JSON.parse(event.message);
      const waiter = this.#waiting.get(message.id);
      if (!waiter) return;
      this.#waiting.delete(message.id);
      if (message.error) waiter.reject(new Error(`${message.error.message} (${message.error.code})`));
      else waiter.resolve(message.result);
    });
  }

  send(method, params = {}) {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      this.#waiting.set(id, { resolve, reject });
      const message = JSON.stringify({ id, method, params });
      this.cdp.send('Target.sendMessageToTarget', { sessionId: this.sessionId, message }).catch(reject);
    });
  }

  /** Runs `fn(arg)` in the page and returns its (JSON) result. */
  async evaluate(fn, arg) {
    const { result, exceptionDetails } = await this.send('Runtime.evaluate', {
      expression: `(${fn})(${JSON.stringify(arg ?? null)})`,
      awaitPromise: true,
      returnByValue: true,
    });
    if (exceptionDetails) throw new Error(`in the side panel: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value;
  }

  /** Polls `fn(arg)` until it returns something truthy, and returns that. */
  async waitFor(fn, arg, { timeout = 30_000, what = 'a condition' } = {}) {
    const end = Date.now() + timeout;
    for (;;) {
      const value = await this.evaluate(fn, arg);
      if (value) return value;
      if (Date.now() > end) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
      await pause(250);
    }
  }

  /** Saves a PNG of the page at `file`. */
  async screenshot(file) {
    const { data } = await this.send('Page.captureScreenshot', { format: 'png' });
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, Buffer.from(data, 'base64'));
  }
}
