// The chart of the committed benchmark results draws from them (bench/chart.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './helpers.mjs';

test('bench/chart.mjs draws the committed results', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'brasa-chart-'));
  try {
    const out = path.join(dir, 'chart.svg');
    execFileSync(process.execPath, [path.join(repoRoot, 'bench/chart.mjs'), '--out', out], { stdio: 'ignore' });
    const svg = readFileSync(out, 'utf8');
    assert.match(svg, /^<svg/);
    const browser = JSON.parse(readFileSync(path.join(repoRoot, 'bench/results/browser-swiftshader.json'), 'utf8'));
    for (const runtime of Object.keys(browser.runtimes)) assert.ok(svg.includes(runtime), `legend has ${runtime}`);
    const native = JSON.parse(readFileSync(path.join(repoRoot, 'bench/results/native-lavapipe.json'), 'utf8'));
    const decode = native.decode[0].tok_s.median;
    const label = `${decode >= 1 ? decode.toFixed(2) : decode.toPrecision(2)} tok/s`; // chart.mjs's fmt
    assert.ok(svg.includes(label), `native decode labelled ${label}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
