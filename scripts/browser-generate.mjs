#!/usr/bin/env node
// Runs brasa in headless Chromium (WebGPU; SwiftShader without a GPU) on a local model file and
// prints exactly one JSON line on stdout. Logs and the streamed text go to stderr.
//
//   node scripts/browser-generate.mjs --model M.gguf --prompt TEXT [--max-tokens N] [--ctx-size N]
//     → {"text", "prompt_tokens", "load_s", "prefill_tok_s", "decode_tok_s", "adapter"}
//   node scripts/browser-generate.mjs --model M.gguf --perplexity-file F.txt --ctx-size N [--chunks K]
//     → {"ppl", "tokens", "chunks", "adapter"}   (as llama-perplexity -c N [--chunks K])
//
// Generation is greedy (temperature 0). The page fetches the model from a local server that
// streams it from disk; the page streams it into the engine chunk by chunk.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from './lib/server.mjs';
import { openPage } from './lib/browser.mjs';
import { runInPage } from './lib/page-run.mjs';

const USAGE = `usage: browser-generate.mjs --model PATH (--prompt TEXT [--max-tokens N] | --perplexity-file F --ctx-size N [--chunks K]) [--ctx-size N] [--browser chromium|firefox]`;

function parse() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      prompt: { type: 'string' },
      'max-tokens': { type: 'string', default: '32' },
      'perplexity-file': { type: 'string' },
      'ctx-size': { type: 'string' },
      chunks: { type: 'string' },
      browser: { type: 'string', default: 'chromium' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.error(USAGE);
    process.exit(0);
  }
  const fail = (msg) => {
    console.error(`browser-generate: ${msg}\n${USAGE}`);
    process.exit(2);
  };
  if (!values.model) fail('--model is required');
  if (!existsSync(values.model)) fail(`no such file: ${values.model}`);
  if ((values.prompt === undefined) === (values['perplexity-file'] === undefined)) {
    fail('give exactly one of --prompt and --perplexity-file');
  }
  const int = (name, fallback) => {
    const v = values[name] ?? fallback;
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer`);
    return n;
  };
  const perplexityFile = values['perplexity-file'];
  if (perplexityFile !== undefined) {
    if (!existsSync(perplexityFile)) fail(`no such file: ${perplexityFile}`);
    if (values['ctx-size'] === undefined) fail('--perplexity-file needs --ctx-size');
  }
  return {
    model: path.resolve(values.model),
    prompt: values.prompt,
    maxTokens: int('max-tokens'),
    ctxSize: int('ctx-size'),
    chunks: int('chunks'),
    perplexityFile: perplexityFile && path.resolve(perplexityFile),
    browser: values.browser,
  };
}

async function main() {
  const args = parse();
  const files = { '/model.gguf': args.model };
  if (args.perplexityFile) files['/perplexity.txt'] = args.perplexityFile;
  const server = await startServer({ files });
  let browser;
  try {
    const opened = await openPage(server.url, { engine: args.browser });
    browser = opened.browser;
    const result = await runInPage(opened.page, {
      modelUrl: '/model.gguf',
      prompt: args.prompt,
      maxTokens: args.maxTokens,
      ctxSize: args.ctxSize,
      chunks: args.chunks,
      perplexityUrl: args.perplexityFile ? '/perplexity.txt' : undefined,
      onText: (t) => process.stderr.write(t),
    });
    process.stderr.write('\n');
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await browser?.close();
    await server.close();
  }
}

main().catch((e) => {
  console.error(`browser-generate: ${e.code ? `[${e.code}] ` : ''}${e.stack ?? e}`);
  process.exit(1);
});
