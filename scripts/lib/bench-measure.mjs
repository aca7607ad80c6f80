// Measurements the browser benchmark takes from outside a runtime: the page's JS heap (sampled
// through the Chrome DevTools Protocol), the browser processes' peak memory, and the
// median/min/max of repetitions.
import { readFileSync } from 'node:fs';

/**
 * Samples the page's main-thread JS heap (CDP `Performance.getMetrics` → JSHeapUsedSize) every
 * `everyMs` until stop(), which resolves to the largest sample in bytes. Sampling from outside
 * the page does not run any script in it, so it does not disturb what it measures.
 * @param {import('playwright-core').Page} page
 */
export async function sampleJsHeap(page, everyMs = 100) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  let peak = 0;
  let running = true;
  const sample = async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const used = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
    peak = Math.max(peak, used);
  };
  const loop = (async () => {
    while (running) {
      await sample().catch(() => {});
      await new Promise((ok) => setTimeout(ok, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await sample().catch(() => {});
      await cdp.detach().catch(() => {});
      return peak;
    },
  };
}

/**
 * Peak resident memory (Linux /proc VmHWM) of the browser's renderer and GPU processes, through
 * CDP `SystemInfo.getProcessInfo`. VmHWM is each process's high-water mark since it started, so
 * no sampling is needed; the renderer figure is the largest renderer (the page under test: the
 * others are idle helper pages). The GPU process holds the GPU buffers (on SwiftShader, in host
 * memory). Nulls where /proc is missing. (performance.measureUserAgentSpecificMemory() was
 * tried: it waits ~60 s for wllama's parked pthreads and leaves brasa's wasm memory out.)
 * @param {import('playwright-core').BrowserContext} context
 * @returns {Promise<{ renderer: number | null, gpu: number | null }>} bytes
 */
export async function processPeaks(context) {
  const cdp = await context.browser().newBrowserCDPSession();
  try {
    const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
    const peak = (type) => {
      const sizes = processInfo.filter((p) => p.type === type).map((p) => vmHwm(p.id));
      const known = sizes.filter((n) => n !== null);
      return known.length ? Math.max(...known) : null;
    };
    return { renderer: peak('renderer'), gpu: peak('GPU') };
  } finally {
    await cdp.detach().catch(() => {});
  }
}

function vmHwm(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * The median, min and max of the numbers in `values` (nulls ignored); null when there are none.
 * @param {(number | null | undefined)[]} values
 */
export function summarize(values) {
  const xs = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  const median = xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  return { median, min: xs[0], max: xs[xs.length - 1], n: xs.length };
}
