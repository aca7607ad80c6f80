// Shared set-up for the browser tests: the model path, the server and a browser page.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { repoRoot, startServer } from '../scripts/lib/server.mjs';
import { openPage } from '../scripts/lib/browser.mjs';

export { repoRoot };

/** The default model, or BRASA_MODEL. Tests fail (not skip) when it is missing. */
export const MODEL = process.env.BRASA_MODEL ?? path.join(repoRoot, 'models/gemma-3-270m-q4_k_m.gguf');

/** Checks the inputs every browser test needs and says how to get them. */
export function requireInputs() {
  if (!existsSync(path.join(repoRoot, 'pkg/wasm/brasa_bg.wasm'))) {
    throw new Error('pkg/wasm/ is missing: run scripts/build-wasm.sh (or npm test, which builds it)');
  }
  if (!existsSync(MODEL)) {
    throw new Error(`${MODEL} is missing: run scripts/setup.sh (or npm test)`);
  }
}

/** The browsers the engine-generic tests run in: BRASA_BROWSERS (comma-separated), default both. */
export const BROWSERS = (process.env.BRASA_BROWSERS ?? 'chromium,firefox').split(',').filter(Boolean);

/**
 * Starts the server (the model at /model.gguf, plus `files`; `faults` as startServer takes them)
 * and a page of `engine`: Chromium
 * (WebGPU on SwiftShader without a GPU) or Firefox ESR (its own WebGPU, on lavapipe).
 * @returns {Promise<{ page: import('playwright-core').Page, url: string,
 *   traffic: import('../scripts/lib/server.mjs').Traffic, close: () => Promise<void> }>}
 */
export async function setUp(files = {}, { engine = 'chromium', faults = {} } = {}) {
  requireInputs();
  const server = await startServer({ files: { '/model.gguf': MODEL, ...files }, faults });
  let browser;
  try {
    const opened = await openPage(server.url, { engine });
    browser = opened.browser;
    return {
      page: opened.page,
      url: server.url,
      traffic: server.traffic,
      close: async () => {
        await browser.close();
        await server.close();
      },
    };
  } catch (e) {
    await server.close();
    throw e;
  }
}

/** Reads the GGUF preamble with plain JS: an implementation independent of the Rust parser. */
export async function readPreamble(file) {
  const fh = await fs.open(file);
  try {
    const buf = Buffer.alloc(24);
    await fh.read(buf, 0, 24, 0);
    return {
      magic: buf.toString('latin1', 0, 4),
      version: buf.readUInt32LE(4),
      tensors: Number(buf.readBigUInt64LE(8)),
      metadata: Number(buf.readBigUInt64LE(16)),
      bytes: (await fh.stat()).size,
    };
  } finally {
    await fh.close();
  }
}
