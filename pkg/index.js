// brasa's JavaScript entry point. `createEngine()` gives an OpenAI-shaped chat engine that runs in
// a dedicated Worker (the page's main thread never blocks on loading or generating), or in the
// calling thread with `{ worker: false }` (e.g. inside an extension's offscreen document or your
// own Worker). The low-level layer (GPU engine, streaming loader, sessions) is re-exported from
// core.js.
import { LocalEngine, runOp } from './engine.js';
import { BrasaError } from './errors.js';

export * from './core.js';
export { BrasaError } from './errors.js';
export { installLanguageModel, languageModelClass } from './prompt-api.js';

/**
 * Starts an engine. Rejects with code `webgpu_unavailable` when this browser has no WebGPU.
 * @example
 *   const engine = await createEngine();
 *   await engine.load('/models/gemma-3-270m-q4_k_m.gguf', { onProgress: (done, total) => {} });
 *   const reply = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi!' }] });
 *   console.log(reply.choices[0].message.content);
 * @param {{ worker?: boolean, maxBufferBytes?: number }} [options] `worker: false` runs the engine
 *   in this thread; `maxBufferBytes` as `createGpuEngine` takes it.
 */
export async function createEngine({ worker = true, maxBufferBytes } = {}) {
  const gpu = maxBufferBytes === undefined ? {} : { maxBufferBytes };
  const backend = worker ? new WorkerBackend(gpu) : new InlineBackend(gpu);
  const engine = new Engine(backend);
  try {
    await engine.gpuInfo();
  } catch (e) {
    backend.terminate();
    throw e;
  }
  return engine;
}

class Engine {
  #backend;
  /** The loaded model's summary (`{id, architecture, nLayer, …}`), or null. */
  model = null;

  constructor(backend) {
    this.#backend = backend;
    this.chat = { completions: { create: (request) => this.#create('chat', request) } };
    this.completions = { create: (request) => this.#create('completion', request) };
  }

  /** `{description, backend, adapter, features, limits, maxWeightPartBytes, browserAdapter}`: the GPU brasa runs on. */
  gpuInfo() {
    return this.#backend.call('gpuInfo', {});
  }

  /**
   * Loads a model, replacing the loaded one. `source`: a URL, the URLs of a split model's files
   * (or the URL of any one of them), a `File`/`Blob`, or a `ReadableStream` (give `size`).
   * `opts`: `onProgress(bytesDone, total, {phase, bytesPerSecond})` (phases `compile` when a new device is set up, then
   * `download`, `cache` or `read`), `signal`, `cache` (keep the file in Cache Storage),
   * `integrity` (`sha256-BASE64` or hex; one per file), `contextLength` (default 4096),
   * `contextShift` (when the context is full, drop its oldest half instead of stopping).
   */
  async load(source, { onProgress, signal, ...opts } = {}) {
    const src = source instanceof URL ? source.href : source;
    this.model = await this.#backend.call('load', { source: src, opts }, { onProgress, signal });
    return this.model;
  }

  /** Frees the model's GPU memory. */
  async unload() {
    await this.#backend.call('unload', {});
    this.model = null;
  }

  /**
   * For fault tests: destroys the GPU device now, as a lost GPU would. A load or request in
   * flight rejects with `device_lost`, as does the next request; `load` then starts on a new
   * device.
   */
  loseDevice() {
    return this.#backend.call('loseDevice', {});
  }

  /**
   * A new session (K/V cache) with a copy of session `from`'s cache and conversation (default 0,
   * the one every request uses unless it names another with `session`); resolves to its id. Two
   * branches of a conversation then each keep their own cache. It costs a second K/V cache until
   * `dropSession(id)`, and ends with `load`/`unload`.
   * @example
   *   const branch = await engine.forkSession();
   *   await engine.chat.completions.create({ session: branch, messages });
   *   await engine.dropSession(branch);
   */
  forkSession(from = 0) {
    return this.#backend.call('forkSession', { from });
  }

  /** Frees a session made by `forkSession`. */
  dropSession(id) {
    return this.#backend.call('dropSession', { id });
  }

  /** Stops the Worker (the engine is unusable afterwards). */
  terminate() {
    this.#backend.terminate();
  }

  #create(kind, request) {
    const { signal, stream = false, ...rest } = request ?? {};
    if (!stream) return this.#backend.call(kind, { request: rest, stream: false }, { signal });
    return streamChunks(this.#backend, kind, rest, signal, this.model?.id ?? '');
  }
}

/**
 * The streamed form of a request: an async iterator of OpenAI-shaped chunks; the last one has the
 * `finish_reason` and `usage`.
 */
async function* streamChunks(backend, kind, request, signal, model) {
  const id = `brasa-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const created = Math.floor(Date.now() / 1000);
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  // `delta`: {content, logprobs} as the engine hands it over; null for the closing chunk.
  const choice = (delta, finish) => {
    const logprobs = delta?.logprobs ? { content: delta.logprobs } : null;
    return kind === 'chat'
      ? { index: 0, delta: delta === null ? {} : { role: 'assistant', content: delta.content }, finish_reason: finish, logprobs }
      : { index: 0, text: delta?.content ?? '', finish_reason: finish, logprobs };
  };
  const pending = [];
  let wake = null;
  let final = null;
  let logprobsSent = 0;
  const done = backend
    .call(kind, { request, stream: true }, { signal, onDelta: (d) => (pending.push(d), wake?.()) })
    .then(
      (r) => (final = { ok: r }),
      (e) => (final = { err: e }),
    )
    .finally(() => wake?.());
  const next = () => {
    const d = pending.shift();
    logprobsSent += d.logprobs?.length ?? 0;
    return { id, object, created, model, choices: [choice(d, null)] };
  };
  for (;;) {
    while (pending.length) yield next();
    if (final) break;
    await new Promise((resolve) => (wake = resolve));
    wake = null;
  }
  await done;
  while (pending.length) yield next();
  if (final.err) throw final.err;
  const r = final.ok;
  // Each chunk carries its own tokens' log-probabilities (as OpenAI's stream does); the last
  // one those of tokens that showed no text (an end-of-turn token, a stop string).
  const rest = r.choices[0].logprobs?.content.slice(logprobsSent);
  const last = { ...choice(null, r.choices[0].finish_reason), logprobs: rest ? { content: rest } : null };
  yield { id, object, created, model, choices: [last], usage: r.usage };
}

/** Runs the engine in this thread. */
class InlineBackend {
  #engine;

  constructor(gpuOptions) {
    this.#engine = new LocalEngine(gpuOptions);
  }

  async call(op, args, hooks = {}) {
    return runOp(this.#engine, op, args, hooks);
  }

  terminate() {
    this.#engine.close();
  }
}

/** Runs the engine in a dedicated module Worker (worker.js) and talks to it by messages. */
class WorkerBackend {
  #worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'brasa' });
  #calls = new Map();
  #next = 1;

  constructor(gpuOptions) {
    this.#worker.postMessage({ op: 'configure', args: { gpu: gpuOptions } });
    this.#worker.onmessage = ({ data: { id, type, data } }) => {
      const call = this.#calls.get(id);
      if (!call) return;
      if (type === 'progress') call.onProgress?.(data.done, data.total, data.info);
      else if (type === 'delta') call.onDelta?.(data);
      else {
        this.#calls.delete(id);
        call.signal?.removeEventListener('abort', call.abort);
        if (type === 'result') call.resolve(data);
        else call.reject(new BrasaError(data.code, data.message));
      }
    };
    this.#worker.onerror = (ev) => this.#failAll(`the engine's Worker failed: ${ev.message ?? 'unknown error'}`);
  }

  call(op, args, { onProgress, onDelta, signal } = {}) {
    return new Promise((resolve, reject) => {
      const id = this.#next++;
      const abort = () => this.#worker.postMessage({ op: 'abort', args: { target: id } });
      this.#calls.set(id, { resolve, reject, onProgress, onDelta, signal, abort });
      signal?.addEventListener('abort', abort, { once: true });
      // A ReadableStream source moves to the Worker (streams are transferable, not copyable).
      const transfer = args?.source instanceof ReadableStream ? [args.source] : [];
      this.#worker.postMessage({ id, op, args }, transfer);
      if (signal?.aborted) abort();
    });
  }

  terminate() {
    this.#worker.terminate();
    this.#failAll('the engine was terminated');
  }

  #failAll(message) {
    for (const call of this.#calls.values()) call.reject(new BrasaError('worker_failed', message));
    this.#calls.clear();
  }
}
