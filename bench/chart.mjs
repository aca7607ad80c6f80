#!/usr/bin/env node
// Draws bench/results/chart.svg from the committed results, with Vega-Lite (rendered to SVG in
// Node, no browser needed):
//
//   node bench/chart.mjs [--native bench/results/native-lavapipe.json]
//                        [--browser bench/results/browser-swiftshader.json]
//                        [--gpu bench/results/gpu-side-by-side.json] [--out bench/results/chart.svg]
//
// Panels (each only when its input exists): the browser side by side (brasa vs wllama, per
// figure), the native hardware-independent figures against the targets, the roofline
// (mat-vec bandwidth as a fraction of the copy kernel's), and brasa / llama.cpp on a real GPU.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as vega from 'vega';
import { compile } from 'vega-lite';

const here = path.dirname(fileURLToPath(import.meta.url));
const results = path.join(here, 'results');
const { values: args } = parseArgs({
  options: {
    native: { type: 'string', default: path.join(results, 'native-lavapipe.json') },
    browser: { type: 'string', default: path.join(results, 'browser-swiftshader.json') },
    gpu: { type: 'string', default: path.join(results, 'gpu-side-by-side.json') },
    out: { type: 'string', default: path.join(results, 'chart.svg') },
  },
});
const load = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null);

const WIDTH = 520;

/** Horizontal bars of `rows` ({label, value, series?}) with an optional rule at `rule`. */
function barPanel(title, rows, { xTitle, rule, series = false, logX = false }) {
  const bars = {
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null },
      x: {
        field: 'value',
        type: 'quantitative',
        title: xTitle,
        ...(logX ? { scale: { type: 'log' } } : {}),
      },
      ...(series
        ? { color: { field: 'series', type: 'nominal', title: null }, yOffset: { field: 'series', sort: null } }
        : {}),
    },
  };
  const text = {
    mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 },
    encoding: { ...bars.encoding, text: { field: 'text' }, color: { value: '#333' } },
  };
  const layers = [bars, text];
  if (rule !== undefined) {
    layers.push({ data: { values: [{ rule }] }, mark: { type: 'rule', color: 'crimson', strokeDash: [4, 3] }, encoding: { x: { field: 'rule', type: 'quantitative' } } });
  }
  return { title, width: WIDTH, data: { values: rows }, layer: layers };
}

const fmt = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(2));

/** Native: each per-token figure divided by its target (≤ 1 meets it). */
function nativeTargetsPanel(r) {
  const t = r.targets;
  const rows = [
    ['dispatches / token', t.dispatches_per_token],
    ['weight bytes read / model bytes', t.weight_read_ratio],
    ['host encode ms / token', t.host_ms_per_token],
  ].map(([label, x]) => ({ label, value: x.value / x.max, text: `${fmt(x.value)} (target ≤ ${x.max})` }));
  // Targets of zero (bind groups, buffers per token) cannot be a ratio: a bar of 0 (met) or 1.
  for (const [label, x] of [['bind groups / token', t.bind_groups_per_token], ['buffers / token', t.buffers_per_token]]) {
    rows.push({ label, value: x.value === 0 ? 0 : 1, text: `${fmt(x.value)} (target 0)` });
  }
  return barPanel(`Per decoded token on ${r.gpu.adapter}: value ÷ target (left of the line meets it)`, rows, {
    xTitle: 'value ÷ target',
    rule: 1,
  });
}

function rooflinePanel(r) {
  const rf = r.roofline;
  const rows = [...rf.matvec, rf.lm_head].map((b) => ({
    label: `${b.ty} ${b.what.replace('.weight', '')} (${(b.bytes / 1e6).toFixed(1)} MB)`,
    value: b.fraction_of_copy.value,
    text: `${b.gb_s.toFixed(2)} GB/s`,
  }));
  return barPanel(
    `Decode mat-vec bandwidth ÷ copy kernel (${rf.copy.gb_s.toFixed(2)} GB/s) on ${r.gpu.adapter}; target ≥ 0.7`,
    rows,
    { xTitle: 'fraction of the copy kernel', rule: 0.7 },
  );
}

function nativeSpeedPanel(r) {
  const rows = [
    ...r.prefill.map((p) => ({ label: `prefill ${p.tokens} tokens`, value: p.tok_s.median })),
    ...r.decode.map((d) => ({ label: `decode ${d.tokens} at depth ${d.depth}`, value: d.tok_s.median })),
  ].map((x) => ({ ...x, text: `${fmt(x.value)} tok/s` }));
  return barPanel(`brasa native speed on ${r.gpu.adapter} (an emulated GPU: not a speed platform)`, rows, {
    xTitle: 'tokens/s',
  });
}

/** Browser: brasa and wllama side by side, one panel per unit (medians; min–max in the text). */
function browserPanels(doc) {
  const groups = [
    ['s', 'seconds (lower is better)', ['cold_load_s', 'warm_load_s', 'ttft_s']],
    ['tok/s', 'tokens/s (higher is better)', ['prefill_tok_s', 'decode_tok_s']],
    ['MiB', 'MiB (lower is better)', ['wasm_memory_peak_bytes', 'renderer_peak_rss_bytes', 'js_heap_peak_bytes']],
  ];
  const labels = { cold_load_s: 'load, cold', warm_load_s: 'load, warm (cached)', ttft_s: 'time to first token', prefill_tok_s: 'prefill', decode_tok_s: 'decode', wasm_memory_peak_bytes: 'wasm memory peak', renderer_peak_rss_bytes: 'page (renderer) peak RSS', js_heap_peak_bytes: 'JS heap peak' };
  const chromium = (doc.chromium ?? 'Chromium').split(' built')[0];
  const where = `${chromium}, ${doc.machine?.nproc ?? '?'} cores, ${doc.config?.prompt_tokens} prompt tokens`;
  return groups.map(([unit, xTitle, keys]) => {
    const rows = [];
    for (const [runtime, r] of Object.entries(doc.runtimes)) {
      for (const key of keys) {
        const f = r.figures?.[key];
        if (!f || f.median === null || f.median === undefined) continue;
        const scale = unit === 'MiB' ? 1 / (1 << 20) : 1;
        const range = f.n > 1 ? ` (${fmt(f.min * scale)}–${fmt(f.max * scale)})` : '';
        rows.push({ label: labels[key], series: runtime, value: f.median * scale, text: `${fmt(f.median * scale)}${range}` });
      }
    }
    return barPanel(`Browser, same run (${where}): ${xTitle.split(' (')[0]}`, rows, { xTitle, series: true });
  });
}

function gpuPanel(side) {
  const rows = [];
  for (const [peer, p] of Object.entries(side.peers)) {
    for (const [figure, ratio] of Object.entries(p.ratios)) {
      rows.push({ label: figure, series: peer, value: ratio, text: ratio.toFixed(2) });
    }
  }
  return barPanel(`brasa ÷ llama.cpp on ${side.machine.find((l) => l.startsWith('gpu:')) ?? 'a GPU'}`, rows, {
    xTitle: 'brasa ÷ llama.cpp (above 1: brasa faster)',
    rule: 1,
    series: true,
  });
}

async function main() {
  const native = load(args.native);
  const browser = load(args.browser);
  const gpu = load(args.gpu);
  const panels = [];
  if (gpu) panels.push(gpuPanel(gpu));
  if (browser) panels.push(...browserPanels(browser));
  if (native) {
    panels.push(nativeSpeedPanel(native), nativeTargetsPanel(native));
    if (native.roofline) panels.push(rooflinePanel(native));
  }
  if (!panels.length) throw new Error('no results to draw');
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    vconcat: panels,
    config: { font: 'sans-serif', title: { fontSize: 12, anchor: 'start' }, axis: { labelLimit: 260 } },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  writeFileSync(args.out, await view.toSVG());
  console.error(`wrote ${args.out}`);
}

main().catch((e) => {
  console.error(`chart: ${e.stack ?? e}`);
  process.exit(1);
});
