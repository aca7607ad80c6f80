// The side panel's and the options page's line to the engine host: makes sure the offscreen
// document exists, connects a port to it (protocol.js) and turns its messages into events.
import { OFFSCREEN_PATH, PORT } from './protocol.js';

/** How often, and how far apart, a connection is tried while the offscreen document starts. */
const CONNECT_TRIES = 20;
const CONNECT_PAUSE_MS = 100;

/** Creates the offscreen document unless it is open (two pages may race: both end up using one). */
export async function ensureOffscreen() {
  const url = chrome.runtime.getURL(OFFSCREEN_PATH);
  const open = await chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT'], documentUrls: [url] });
  if (open.length) return;
  try {
    await chrome.offscreen.createDocument({
      url: OFFSCREEN_PATH,
      reasons: ['WORKERS'],
      justification: 'Runs the local language model (a WebGPU engine in a Worker) so that it stays loaded while the side panel is closed.',
    });
  } catch (e) {
    if (!/single offscreen document/i.test(e?.message ?? '')) throw e;
  }
}

/** Closes the offscreen document: the engine, its Worker and the model's GPU memory go away. */
export async function closeOffscreen() {
  const url = chrome.runtime.getURL(OFFSCREEN_PATH);
  const open = await chrome.runtime.getContexts({ contextTypes: ['OFFSCREEN_DOCUMENT'], documentUrls: [url] });
  if (open.length) await chrome.offscreen.closeDocument();
}

/**
 * Events: `hello`, `status`, `delta`, `done`, `failed` (each a CustomEvent whose `detail` is the
 * host's message) and `disconnect` (the host went away: its document was closed or crashed).
 */
export class EngineClient extends EventTarget {
  /** @type {chrome.runtime.Port | null} */
  #port = null;
  #connecting = null;

  /** Connects (once; again after a disconnect). Resolves on the host's `hello`. */
  connect() {
    this.#connecting ??= this.#open().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  get connected() {
    return this.#port !== null;
  }

  /** Sends a message, connecting first when needed. */
  async send(message) {
    if (!this.#port) await this.connect();
    this.#port.postMessage(message);
  }

  async #open() {
    await ensureOffscreen();
    for (let attempt = 1; ; attempt++) {
      const hello = await this.#try();
      if (hello) return hello;
      if (attempt >= CONNECT_TRIES) throw new Error('the engine host (offscreen document) does not answer');
      await new Promise((resolve) => setTimeout(resolve, CONNECT_PAUSE_MS));
    }
  }

  /** One connection attempt: the host's hello, or null when nobody listened yet. */
  #try() {
    return new Promise((resolve) => {
      const port = chrome.runtime.connect({ name: PORT });
      let greeted = false;
      port.onMessage.addListener((message) => {
        if (!greeted && message.type === 'hello') {
          greeted = true;
          this.#port = port;
          resolve(message);
        }
        this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
      });
      port.onDisconnect.addListener(() => {
        void chrome.runtime.lastError; // read, so Chrome does not log it as unchecked
        if (!greeted) return resolve(null);
        this.#port = null;
        this.dispatchEvent(new CustomEvent('disconnect'));
      });
    });
  }
}
