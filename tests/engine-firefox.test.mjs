// The npm package's engine in Firefox ESR (its own WebGPU implementation, on lavapipe): the
// default Worker engine loads the model and answers a chat request whole and streamed, greedily
// the same way. (engine.test.mjs covers the rest in Chromium.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BROWSERS, setUp } from './helpers.mjs';

const run = BROWSERS.includes('firefox');
let env;

before(async () => {
  if (run) env = await setUp({}, { engine: 'firefox' });
});
after(async () => env?.close());

test('Firefox: the Worker engine loads and chats', { skip: !run && 'BRASA_BROWSERS has no firefox' }, async () => {
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createEngine();
    const gpu = await engine.gpuInfo();
    let events = 0;
    await engine.load('/model.gguf', { contextLength: 128, onProgress: () => (events += 1) });
    const ask = { messages: [{ role: 'user', content: 'Name a color.' }], max_tokens: 3, temperature: 0 };
    const whole = await engine.chat.completions.create(ask);
    let streamed = '';
    for await (const chunk of await engine.chat.completions.create({ ...ask, stream: true })) streamed += chunk.choices[0].delta.content ?? '';
    engine.terminate();
    return { gpu: gpu.description, events, whole: whole.choices[0].message.content, usage: whole.usage, streamed };
  });
  console.error(`firefox: ${JSON.stringify(r.whole)} on ${r.gpu}`);
  assert.ok(r.events > 10);
  assert.ok(r.whole.length > 0);
  assert.equal(r.streamed, r.whole);
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 3);
});
