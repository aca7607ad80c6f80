// The npm package's OpenAI-shaped engine in Chromium: it runs in a Worker, loads the real model
// with progress, answers chat requests streamed and not (the same greedy text both ways and the
// same as the engine run in the page's thread), aborts cleanly, serves concurrent requests in
// order, and turns misuse into BrasaErrors with stable codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setUp } from './helpers.mjs';

let env;

before(async () => {
  env = await setUp();
});

after(async () => env?.close());


test('the Worker engine loads with progress and streams the same reply it returns whole', async () => {
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const ask = (content) => ({ messages: [{ role: 'user', content }], max_tokens: 4, temperature: 0 });
    // Long tasks on the page's thread while the Worker loads and generates.
    const longTasks = [];
    new PerformanceObserver((list) => longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' });
    const codeOf = (p) => p.then(() => 'no error', (e) => `${e instanceof brasa.BrasaError}:${e.code}`);
    const engine = await brasa.createEngine();
    const gpu = await engine.gpuInfo();
    const offersSubgroups = (await navigator.gpu.requestAdapter()).features.has('subgroups');
    const noModel = await codeOf(engine.chat.completions.create(ask('Hi')));
    let events = 0;
    let last = [0, 0];
    const phases = [];
    let rate = 0;
    const summary = await engine.load('/model.gguf', {
      contextLength: 256,
      onProgress: (done, total, info) => {
        events += 1;
        last = [done, total];
        if (phases.at(-1) !== info.phase) phases.push(info.phase);
        rate = info.bytesPerSecond;
      },
    });
    const whole = await engine.chat.completions.create(ask('Name a color.'));
    const chunks = [];
    for await (const chunk of await engine.chat.completions.create({ ...ask('Name a color.'), stream: true })) chunks.push(chunk);
    const badMessages = await codeOf(engine.chat.completions.create({ messages: [{ role: 'user' }] }));
    const withLogprobs = await engine.chat.completions.create({ ...ask('Name a color.'), logprobs: true, top_logprobs: 3 });
    const streamedLogprobs = [];
    for await (const chunk of await engine.chat.completions.create({ ...ask('Name a color.'), logprobs: true, top_logprobs: 3, stream: true })) {
      streamedLogprobs.push({ content: chunk.choices[0].delta.content ?? '', logprobs: chunk.choices[0].logprobs?.content ?? null });
    }
    const completion = await engine.completions.create({ prompt: 'The capital of France is', max_tokens: 3, temperature: 0 });
    engine.terminate();
    const workerLongTasks = longTasks.slice();
    // The same request in the page's own thread.
    const inline = await brasa.createEngine({ worker: false });
    await inline.load('/model.gguf', { contextLength: 256 });
    const inlineReply = await inline.chat.completions.create(ask('Name a color.'));
    await inline.unload();
    return { gpu, offersSubgroups, noModel, events, last, phases, rate, summary, whole, chunks, badMessages, withLogprobs, streamedLogprobs, completion, inlineReply, workerLongTasks, longTasks };
  });
  assert.ok(r.gpu.description.length > 0);
  assert.ok(Array.isArray(r.gpu.features));
  // SwiftShader offers subgroups (and no shader-f16): the subgroup kernels, though wgpu 30 does
  // not request the feature itself (pkg/core.js does). It is a CPU emulator: the register tiles.
  assert.deepEqual(r.gpu.variants, {
    reduction: r.offersSubgroups ? 'subgroup' : 'workgroup',
    f16: false,
    matmul: 'registers',
  });
  assert.ok(r.gpu.limits.maxStorageBufferBindingSize >= 128 * 2 ** 20, JSON.stringify(r.gpu.limits));
  assert.ok(r.gpu.maxWeightPartBytes > 0 && r.gpu.maxWeightPartBytes <= r.gpu.limits.maxStorageBufferBindingSize);
  assert.equal(r.noModel, 'true:no_model');
  assert.equal(r.badMessages, 'true:invalid_argument');
  assert.equal(r.summary.architecture, 'gemma3');
  assert.ok(r.events > 10, `${r.events} progress events`);
  assert.equal(r.last[0], r.last[1], 'progress reaches the total');
  // createEngine() already compiled the kernels, so the load only downloads.
  assert.deepEqual(r.phases, ['download']);
  assert.ok(r.rate > 0);

  const text = r.whole.choices[0].message.content;
  assert.equal(r.whole.object, 'chat.completion');
  assert.equal(r.whole.choices[0].message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(r.whole.choices[0].finish_reason));
  const u = r.whole.usage;
  assert.ok(u.prompt_tokens > 5 && u.completion_tokens >= 1 && u.completion_tokens <= 4, JSON.stringify(u));
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.ok(u.timings.ttft_ms > 0 && u.timings.prefill_tokens_per_s > 0);

  const deltas = r.chunks.slice(0, -1).map((c) => c.choices[0].delta.content);
  const final = r.chunks.at(-1);
  assert.ok(r.chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === final.id));
  assert.equal(deltas.join(''), text, 'streamed deltas add up to the whole reply');
  assert.equal(final.choices[0].finish_reason, r.whole.choices[0].finish_reason);
  assert.deepEqual(
    { p: final.usage.prompt_tokens, c: final.usage.completion_tokens },
    { p: u.prompt_tokens, c: u.completion_tokens },
  );
  assert.equal(r.inlineReply.choices[0].message.content, text, 'Worker and in-page engines agree');
  // Greedy with logprobs: the same reply; each token is its step's most likely one.
  const lp = r.withLogprobs.choices[0].logprobs.content;
  assert.equal(r.withLogprobs.choices[0].message.content, text);
  assert.equal(lp.length, r.withLogprobs.usage.completion_tokens);
  for (const t of lp) {
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].token, t.token);
    assert.equal(t.top_logprobs[0].logprob, t.logprob);
    assert.ok(t.logprob <= 0 && t.top_logprobs[1].logprob <= t.logprob);
  }
  assert.equal(r.whole.choices[0].logprobs, null);
  // Streamed, each chunk carries its own tokens' log-probabilities; together they are the whole
  // reply's, in order, and each chunk with text has at least the token that showed it.
  const perChunk = r.streamedLogprobs.flatMap((c) => c.logprobs ?? []);
  assert.deepEqual(perChunk, lp, 'the chunks\' logprobs add up to the whole reply\'s');
  for (const c of r.streamedLogprobs.slice(0, -1)) {
    if (c.content) assert.ok(c.logprobs?.length >= 1, `a chunk with text carries its tokens: ${JSON.stringify(c)}`);
  }
  assert.ok(r.streamedLogprobs.filter((c) => c.logprobs?.length).length >= 2, 'log-probabilities come with several chunks, not only the last');
  assert.equal(r.completion.object, 'text_completion');
  assert.ok(r.completion.choices[0].text.length > 0);
  // The page's thread stays responsive while the Worker loads and generates: no long task near
  // what loading in the page's own thread costs (over a second here, measured below).
  const worst = Math.max(0, ...r.workerLongTasks);
  const inPage = Math.max(0, ...r.longTasks);
  console.error(`reply ${JSON.stringify(text)}; ${r.events} progress events; longest main-thread task ${worst.toFixed(0)} ms with the Worker, ${inPage.toFixed(0)} ms in the page`);
  assert.ok(worst < 500, `a ${worst} ms task blocked the page while the Worker worked`);
});

test('an aborted request rejects with `aborted` and the next one works; concurrent requests queue in order', async () => {
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const ask = (content) => ({ messages: [{ role: 'user', content }], max_tokens: 4, temperature: 0 });
    const engine = await brasa.createEngine();
    await engine.load('/model.gguf', { contextLength: 256 });
    const codeOf = (p) => p.then(() => 'no error', (e) => `${e instanceof brasa.BrasaError}:${e.code}`);
    // Abort after the first streamed chunk (during decode).
    const controller = new AbortController();
    const streamed = [];
    const aborted = await codeOf(
      (async () => {
        const stream = await engine.chat.completions.create({ ...ask('Count to ten.'), max_tokens: 40, stream: true, signal: controller.signal });
        for await (const chunk of stream) {
          streamed.push(chunk);
          controller.abort();
        }
      })(),
    );
    // Abort during the download (then the same engine loads), and during prefill.
    const loadCtl = new AbortController();
    const abortedLoad = await codeOf(
      engine.load('/model.gguf', { onProgress: (done, total) => done > total / 3 && loadCtl.abort(), signal: loadCtl.signal }),
    );
    await engine.load('/model.gguf', { contextLength: 256 });
    const prefillCtl = new AbortController();
    const long = 'Tell me about the sea. '.repeat(12);
    const pending = engine.chat.completions.create({ ...ask(long), signal: prefillCtl.signal });
    setTimeout(() => prefillCtl.abort(), 50);
    const abortedPrefill = await codeOf(pending);
    // Aborted before it starts.
    const early = new AbortController();
    early.abort();
    const abortedEarly = await codeOf(engine.chat.completions.create({ ...ask('Hi'), signal: early.signal }));
    const after = await engine.chat.completions.create(ask('Name a fruit.'));
    // A second turn of that conversation: its first turn comes from the cache.
    const followUp = await engine.chat.completions.create({
      ...ask('And another one?'),
      messages: [
        { role: 'user', content: 'Name a fruit.' },
        { role: 'assistant', content: after.choices[0].message.content },
        { role: 'user', content: 'And another one?' },
      ],
    });
    // Five at once, two prompts: each answer is the one its prompt gets alone.
    const order = [];
    const prompts = ['Name a fruit.', 'Name a color.', 'Name a fruit.', 'Name a color.', 'Name a fruit.'];
    const replies = await Promise.all(
      prompts.map((p, i) => engine.chat.completions.create(ask(p)).then((res) => (order.push(i), res.choices[0].message.content))),
    );
    const color = await engine.chat.completions.create(ask('Name a color.'));
    engine.terminate();
    return { aborted, abortedLoad, abortedPrefill, streamed: streamed.length, abortedEarly, after: after.choices[0].message.content, firstUsage: after.usage, followUsage: followUp.usage, replies, order, color: color.choices[0].message.content };
  });
  assert.equal(r.aborted, 'true:aborted');
  assert.ok(r.streamed >= 1 && r.streamed < 40, `${r.streamed} chunks before the abort took effect`);
  assert.equal(r.abortedEarly, 'true:aborted');
  assert.equal(r.abortedLoad, 'true:aborted');
  assert.equal(r.abortedPrefill, 'true:aborted');
  assert.ok(r.after.length > 0);
  assert.ok(
    r.followUsage.prompt_tokens_details.cached_tokens >= r.firstUsage.prompt_tokens &&
      r.followUsage.prompt_tokens_details.cached_tokens < r.followUsage.prompt_tokens,
    `the second turn reuses the first: ${JSON.stringify([r.firstUsage, r.followUsage])}`,
  );
  assert.deepEqual(r.order, [0, 1, 2, 3, 4], 'answered in the order asked');
  assert.deepEqual(r.replies, [r.after, r.color, r.after, r.color, r.after]);
});

test('a page written for the Prompt API (LanguageModel) runs on brasa unchanged', async () => {
  await env.page.goto(`${env.url}/__blank`);
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    brasa.installLanguageModel({ model: '/model.gguf', contextLength: 512, maxTokens: 4, cache: false });
    // From here on, code as written for Chrome's built-in model.
    const availability = await LanguageModel.availability();
    const progress = [];
    const session = await LanguageModel.create({
      initialPrompts: [{ role: 'system', content: 'You are terse.' }],
      temperature: 0,
      topK: 1,
      monitor(m) {
        m.addEventListener('downloadprogress', (e) => progress.push(e.loaded));
      },
    });
    let streamed = '';
    for await (const piece of session.promptStreaming('Name a color.')) streamed += piece;
    const usageAfterFirst = session.contextUsage;
    const copy = await session.clone();
    const a = await session.prompt('Another one?');
    const b = await copy.prompt('Another one?');
    const window = session.contextWindow;
    session.destroy();
    const afterDestroy = await session.prompt('Hi').then(() => 'no error', (e) => e.name);
    return { availability, progress, streamed, usageAfterFirst, a, b, window, afterDestroy, laterAvailability: await LanguageModel.availability() };
  });
  assert.equal(r.availability, 'downloadable');
  assert.equal(r.laterAvailability, 'available');
  assert.ok(r.progress.length > 10 && r.progress.at(-1) === 1, `progress ${r.progress.length} events`);
  assert.ok(r.progress.every((p, i) => i === 0 || p >= r.progress[i - 1]), 'progress never goes back');
  assert.ok(r.streamed.length > 0);
  assert.ok(r.usageAfterFirst > 5);
  assert.equal(r.window, 512);
  assert.equal(r.a, r.b, 'a clone answers like its original (same conversation, greedy)');
  assert.equal(r.afterDestroy, 'InvalidStateError');
});

test('forkSession: two branches of a conversation each keep their own K/V cache', async () => {
  await env.page.goto(`${env.url}/__blank`);
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const engine = await brasa.createEngine();
    await engine.load('/model.gguf', { contextLength: 256 });
    const chat = (messages, session) =>
      engine.chat.completions.create({ messages, session, max_tokens: 3, temperature: 0 }).then((c) => ({
        text: c.choices[0].message.content,
        usage: c.usage,
      }));
    const turn1 = [{ role: 'user', content: 'Name a fruit.' }];
    const one = await chat(turn1);
    const branch = await engine.forkSession();
    const extend = (m, reply, next) => [...m, { role: 'assistant', content: reply }, { role: 'user', content: next }];
    const a2m = extend(turn1, one.text, 'Why that one?');
    const b2m = extend(turn1, one.text, 'Name a vegetable.');
    // The branches alternate: without a cache of its own, each turn would evaluate again what
    // the other branch overwrote since the fork.
    const a2 = await chat(a2m, 0);
    const b2 = await chat(b2m, branch);
    const a3 = await chat(extend(a2m, a2.text, 'And then?'), 0);
    const b3 = await chat(extend(b2m, b2.text, 'And then?'), branch);
    // The same turn on a fresh engine session: the reply must not depend on the cache.
    await engine.load('/model.gguf', { contextLength: 256 });
    const b3Fresh = await chat(extend(b2m, b2.text, 'And then?'));
    const dropped = await engine.dropSession(1).then(() => chat(turn1, 1)).then(() => 'no error', (e) => e.code);
    const dropDefault = await engine.dropSession(0).then(() => 'no error', (e) => e.code);
    engine.terminate();
    return { branch, a2, b2, a3, b3, b3Fresh, dropped, dropDefault };
  });
  const cached = (x) => x.usage.prompt_tokens_details.cached_tokens;
  console.error(`branch ${r.branch}: cached a2 ${cached(r.a2)}, b2 ${cached(r.b2)}, a3 ${cached(r.a3)}/${r.a3.usage.prompt_tokens}, b3 ${cached(r.b3)}/${r.b3.usage.prompt_tokens}`);
  assert.ok(cached(r.a3) >= r.a2.usage.prompt_tokens, `branch A's third turn finds its second in its cache: ${cached(r.a3)} < ${r.a2.usage.prompt_tokens}`);
  assert.ok(cached(r.b3) >= r.b2.usage.prompt_tokens, `branch B's third turn finds its second in its cache: ${cached(r.b3)} < ${r.b2.usage.prompt_tokens}`);
  assert.ok(cached(r.b2) > 0, 'the fork starts with the first turn cached');
  assert.equal(r.b3.text, r.b3Fresh.text, 'the fork answers as a fresh session does');
  assert.equal(r.b3.usage.prompt_tokens, r.b3Fresh.usage.prompt_tokens);
  assert.equal(r.dropped, 'invalid_argument', 'a dropped session is gone');
  assert.equal(r.dropDefault, 'invalid_argument');
});

test('a lost GPU device is reported as `device_lost`, and the engine loads again on a new device', async () => {
  await env.page.goto(`${env.url}/__blank`);
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const ask = { messages: [{ role: 'user', content: 'Name a color.' }], max_tokens: 3, temperature: 0 };
    const codeOf = (p) => p.then(() => 'no error', (e) => e.code);
    const engine = await brasa.createEngine();
    await engine.load('/model.gguf', { contextLength: 128 });
    const before = (await engine.chat.completions.create(ask)).choices[0].message.content;
    await engine.loseDevice();
    const lost = await codeOf(engine.chat.completions.create(ask));
    const noModel = await codeOf(engine.chat.completions.create(ask));
    await engine.load('/model.gguf', { contextLength: 128 });
    const after = (await engine.chat.completions.create(ask)).choices[0].message.content;
    engine.terminate();
    return { before, lost, noModel, after };
  });
  assert.equal(r.lost, 'device_lost');
  assert.equal(r.noModel, 'no_model');
  assert.equal(r.after, r.before, 'the same greedy reply on the new device');
});

test('without WebGPU: `webgpu_unavailable`, saying which browsers have it', async () => {
  await env.page.goto(`${env.url}/__blank`);
  const r = await env.page.evaluate(async () => {
    // As in a browser without WebGPU.
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
    const brasa = await import('/pkg/index.js');
    const error = await brasa.createEngine({ worker: false }).then(
      () => null,
      (e) => ({ name: e.name, code: e.code, message: e.message }),
    );
    brasa.installLanguageModel({ model: '/model.gguf' });
    return { error, availability: await LanguageModel.availability() };
  });
  assert.equal(r.error?.code, 'webgpu_unavailable', JSON.stringify(r.error));
  assert.equal(r.error.name, 'BrasaError');
  assert.match(r.error.message, /Chrome/);
  assert.equal(r.availability, 'unavailable');
});

test('terminating the Worker mid-request rejects the pending calls with `worker_failed`; a new engine works', async () => {
  await env.page.goto(`${env.url}/__blank`);
  const r = await env.page.evaluate(async () => {
    const brasa = await import('/pkg/index.js');
    const ask = { messages: [{ role: 'user', content: 'Count to twenty.' }], max_tokens: 30, temperature: 0 };
    const engine = await brasa.createEngine();
    await engine.load('/model.gguf', { contextLength: 128 });
    const pending = engine.chat.completions.create(ask).then(() => 'no error', (e) => e.code);
    const queued = engine.chat.completions.create(ask).then(() => 'no error', (e) => e.code);
    await new Promise((ok) => setTimeout(ok, 200));
    engine.terminate();
    const codes = [await pending, await queued];
    const fresh = await brasa.createEngine();
    await fresh.load('/model.gguf', { contextLength: 128 });
    const reply = await fresh.chat.completions.create({ ...ask, max_tokens: 2 });
    fresh.terminate();
    return { codes, text: reply.choices[0].message.content };
  });
  assert.deepEqual(r.codes, ['worker_failed', 'worker_failed']);
  assert.ok(r.text.length > 0);
});
