// The browser benchmark's results: which figures there are (name, unit, how measured), the
// per-runtime summaries, the machine description, the JSON document and the readable table.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { summarize } from './bench-measure.mjs';
import { repoRoot } from './server.mjs';
import { CHROMIUM } from './browser.mjs';

/** Every figure of a repetition: [key, unit, label, how it is measured]. */
export const FIGURES = [
  ['cold_load_s', 's', 'load, cold', 'page wall time from the runtime\'s init to a model ready to generate, in a fresh browser profile (empty caches)'],
  ['warm_load_s', 's', 'load, warm', 'the same in a second page of the same profile: the runtime\'s own cache serves the model (brasa: Cache Storage; wllama: OPFS)'],
  ['cold_model_bytes', 'B', 'model bytes fetched, cold', 'body bytes of the model file the server sent during the cold load'],
  ['warm_model_bytes', 'B', 'model bytes fetched, warm', 'the same during the warm load'],
  ['cold_total_bytes', 'B', 'all bytes fetched, cold', 'body bytes of every file the server sent during the cold load (code, wasm, model)'],
  ['warm_total_bytes', 'B', 'all bytes fetched, warm', 'the same during the warm load (small files are revalidated with ETags)'],
  ['ttft_s', 's', 'time to first token', 'page wall time from the generate call to the first streamed text'],
  ['prefill_tok_s', 'tok/s', 'prefill', 'prompt tokens per second, as the runtime reports it'],
  ['decode_tok_s', 'tok/s', 'decode', 'generated tokens per second after the first, as the runtime reports it'],
  ['generate_s', 's', 'generate, total', 'page wall time of the whole generate call'],
  ['wasm_memory_load_bytes', 'B', 'wasm memory after load', 'the runtime\'s wasm linear memory after the load (memory only grows: the peak during load); brasa: its instance\'s memory; wllama: its shared memory, read in its threads'],
  ['wasm_memory_peak_bytes', 'B', 'wasm memory peak', 'the same after generation: the peak of the whole run'],
  ['renderer_peak_rss_bytes', 'B', 'renderer process peak RSS', 'Linux VmHWM of the page\'s renderer process after the cold load and generation: everything the page held at its peak (JS heaps, wasm memories, workers), not GPU buffers'],
  ['gpu_process_peak_rss_bytes', 'B', 'GPU process peak RSS', 'Linux VmHWM of Chromium\'s GPU process at the same moment: GPU buffers live there (on SwiftShader, in host memory)'],
  ['js_heap_peak_bytes', 'B', 'JS heap peak (main thread)', 'CDP Performance.getMetrics JSHeapUsedSize sampled every 100 ms during load and generation; the page\'s main thread only (wllama computes in workers)'],
  ['gpu_buffers', '', 'GPU buffers allocated', 'brasa: engine.stats().buffersCreated after generation'],
  ['dispatches_per_token', '', 'GPU dispatches / token', 'brasa: compute dispatches recorded per decoded token'],
  ['weight_read_ratio', '', 'weight bytes read / token ÷ weights', 'brasa: bytes of weight buffers the decode kernels read per token, divided by the model\'s GGUF weight bytes'],
  ['host_ms_per_token', 'ms', 'host encode / token', 'brasa: host time spent recording and encoding per decoded token, up to queue.submit (not the readback wait)'],
  ['prompt_tokens', 'tok', 'prompt tokens', 'as the runtime counted them (BOS included)'],
  ['generated_tokens', 'tok', 'generated tokens', 'as the runtime counted them'],
];

/**
 * Summarizes one runtime's repetitions: {median, min, max, n} per figure, the greedy texts.
 * @param {object[]} reps
 */
export function summarizeRuntime(reps) {
  const figures = {};
  for (const [key] of FIGURES) figures[key] = summarize(reps.map((r) => r[key]));
  const texts = [...new Set(reps.map((r) => r.text))];
  return { figures, text: texts[0] ?? null, texts_agree: texts.length <= 1 };
}

/** What was run on: the machine, the browser, the code. */
export function environment() {
  const run = (cmd, args) => {
    try {
      return execFileSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']);
  const wllamaPkg = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/@wllama/wllama/package.json'), 'utf8'));
  return {
    date: new Date().toISOString(),
    brasa_commit: run('git', ['rev-parse', 'HEAD']),
    brasa_dirty: Boolean(dirty),
    chromium: run(CHROMIUM, ['--version']),
    node: process.version,
    wllama: wllamaPkg.version,
    machine: {
      nproc: os.availableParallelism(),
      cpu: os.cpus()[0]?.model ?? null,
      memory_bytes: os.totalmem(),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      load_average: os.loadavg(),
    },
  };
}

const fmtBytes = (b) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`);

function fmt(value, unit) {
  if (value === null || value === undefined) return '—';
  if (unit === 'B') return fmtBytes(value);
  if (unit === 'tok' || unit === '') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)}${unit === 's' ? ' s' : unit === 'ms' ? ' ms' : ''}`;
}

/** The readable table: one row per figure, one column per runtime, "median (min–max)". */
export function table(doc) {
  const names = Object.keys(doc.runtimes);
  const cell = (s, unit) => {
    if (!s) return '—';
    const m = fmt(s.median, unit);
    return s.n > 1 && s.min !== s.max ? `${m} (${fmt(s.min, unit)}–${fmt(s.max, unit)})` : m;
  };
  const rows = [['figure (median (min–max))', ...names]];
  for (const [key, unit, label] of FIGURES) {
    const cells = names.map((n) => cell(doc.runtimes[n].figures?.[key], unit));
    if (cells.every((c) => c === '—')) continue;
    rows.push([`${label}${unit && unit !== 'B' ? ` [${unit}]` : ''}`, ...cells]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  out.push('');
  for (const n of names) {
    const r = doc.runtimes[n];
    if (r.error) {
      out.push(`${n}: FAILED: ${r.error}`);
      continue;
    }
    const extra = r.ran_on_gpu === undefined ? '' : ` [ran on GPU: ${r.ran_on_gpu}]`;
    out.push(`${n}${extra}: ${JSON.stringify(r.text)}${r.texts_agree ? '' : ' (repetitions differ)'}`);
  }
  for (const w of doc.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}
