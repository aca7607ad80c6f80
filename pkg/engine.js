// The engine behind the OpenAI-shaped API, on the thread it runs on (a Worker by default, see
// index.js): one GPU engine, at most one loaded model and its sessions (K/V caches: the default
// one, 0, and the forks made by `forkSession`), and a queue so that calls run one at a time in the
// order they were made (a second request never interleaves with the first on one K/V cache).
import { createGpuEngine, loadModel, adapterInfo, Session } from './core.js';
import { BrasaError, toBrasaError } from './errors.js';

/** `max_tokens` when a request gives none (OpenAI's other defaults: temperature 1, top_p 1). */
const DEFAULT_MAX_TOKENS = 512;

export class LocalEngine {
  #gpu = null;
  /** Options of the GPU engine (`createGpuEngine`'s): `{ maxBufferBytes }`. */
  #gpuOptions;
  #model = null;
  /** Session id → wasm Session; 0 is the default one, made by `load`. */
  #sessions = new Map();
  #nextSession = 1;
  #modelId = '';
  #contextLength = 0;
  #queue = Promise.resolve();

  /** @param {{ maxBufferBytes?: number }} [gpuOptions] for the GPU engine (see `createGpuEngine`) */
  constructor(gpuOptions = {}) {
    this.#gpuOptions = gpuOptions;
  }

  /**
   * Runs `fn` after every call made before it; a failure does not block later calls. A lost GPU
   * drops the engine, model and session: the next `load` starts on a new device.
   */
  #enqueue(fn) {
    const run = this.#queue.then(async () => {
      try {
        return await fn();
      } catch (e) {
        if (e?.code === 'device_lost') this.#dropGpu();
        throw e;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #gpuEngine() {
    // A device lost since the last call (destroyed, or lost by the browser) is of no more use.
    if (this.#gpu?.lost) this.#dropGpu();
    this.#gpu ??= await createGpuEngine(undefined, this.#gpuOptions).catch((e) => {
      if (e?.code && e.code !== 'gpu_unavailable') throw toBrasaError(e, 'gpu');
      const why = globalThis.navigator?.gpu ? (e?.message ?? String(e)) : 'this browser has no navigator.gpu';
      throw new BrasaError(
        'webgpu_unavailable',
        `WebGPU is not available (${why}): it needs Chrome or Edge 113+, Safari 26, or Firefox 141+ on Windows, over HTTPS or localhost`,
      );
    });
    return this.#gpu;
  }

  /** The device brasa runs on: adapter, backend, features, limits (see wasm `gpuDetails`), plus the browser's own adapter info. */
  gpuInfo() {
    return this.#enqueue(async () => {
      const gpu = await this.#gpuEngine();
      return { ...gpu.gpuDetails(), browserAdapter: await adapterInfo() };
    });
  }

  /**
   * Loads a model (replacing the loaded one): `source` is a URL, a list of a split model's URLs,
   * a `Blob`/`File`, or a `ReadableStream` (with `size`). `opts`: `onProgress(done, total)`,
   * `signal`, `cache`, `integrity`, `size`, `contextLength`, `contextShift`, `kvCache`. Resolves to the
   * model's summary.
   */
  load(source, opts = {}) {
    return this.#enqueue(async () => {
      // The first load compiles the kernels (creating the GPU engine) before any byte moves.
      if (!this.#gpu) opts.onProgress?.(0, 0, { phase: 'compile', bytesPerSecond: 0 });
      const gpu = await this.#gpuEngine();
      this.#unloadNow();
      const { onProgress, signal, cache = false, integrity, size, contextLength = 4096, contextShift = false, kvCache } = opts;
      const model = await loadModel(gpu, source, { onProgress, signal, cache, integrity, size }).catch((e) => {
        throw toBrasaError(e, signal?.aborted ? 'aborted' : 'bad_model');
      });
      try {
        const session = new Session(gpu, model, contextLength, contextShift, kvCache);
        this.#sessions.set(0, session);
        // A K/V cache that cannot be allocated is reported here, with its size, not by a later request.
        await gpu.confirmAllocations();
      } catch (e) {
        this.#unloadNow();
        model.free();
        throw toBrasaError(e, 'out_of_memory');
      }
      this.#model = model;
      this.#contextLength = contextLength;
      this.#modelId = typeof source === 'string' ? source.split('/').pop() : (source?.name ?? 'model');
      return { id: this.#modelId, contextLength, ...model.summary() };
    });
  }

  #dropGpu() {
    this.#unloadNow();
    this.#gpu?.free();
    this.#gpu = null;
  }

  /**
   * Destroys the GPU device now, as a lost GPU would, for fault tests: a load or request in
   * flight fails with `device_lost`, as does the next request; the next `load` starts on a new
   * device. Not queued, so that it can reach a call that is running.
   */
  async loseDevice() {
    this.#gpu?.loseDevice();
  }

  /** Frees the model, its sessions and the GPU device: the end of an engine in this thread. */
  close() {
    return this.#enqueue(async () => this.#dropGpu());
  }

  /** Frees the model and its session (GPU memory). */
  unload() {
    return this.#enqueue(async () => this.#unloadNow());
  }

  #unloadNow() {
    for (const s of this.#sessions.values()) s.free();
    this.#sessions.clear();
    this.#model?.free();
    this.#model = null;
  }

  /**
   * A new session (K/V cache) holding a copy of session `from`'s cache and conversation; resolves
   * to its id, for requests' `session` field. Costs a second K/V cache until `dropSession`.
   */
  forkSession(from = 0) {
    return this.#enqueue(async () => {
      const copy = this.#sessionOf(from).fork();
      const id = this.#nextSession++;
      this.#sessions.set(id, copy);
      return id;
    });
  }

  /** Frees a session made by `forkSession` (an unknown id is already gone: nothing to do). */
  dropSession(id) {
    return this.#enqueue(async () => {
      if (id === 0) throw new BrasaError('invalid_argument', 'session 0 is the default session: unload the model instead');
      this.#sessions.get(id)?.free();
      this.#sessions.delete(id);
    });
  }

  /** The session a request names (`session`, default 0). */
  #sessionOf(id = 0) {
    this.#requireModel();
    const s = this.#sessions.get(id);
    if (!s) throw new BrasaError('invalid_argument', `no session ${id}: it was dropped, or made for another model`);
    return s;
  }

  /**
   * An OpenAI chat completion. `onDelta({content, logprobs})` receives the reply as it is
   * generated, with its tokens' OpenAI-shaped log-probabilities when asked (null otherwise) (for
   * streaming); resolves to the whole response (`chat.completion`).
   */
  chatCompletion(request, onDelta, signal) {
    return this.#enqueue(async () => {
      const session = this.#sessionOf(request.session);
      const messages = checkMessages(request.messages);
      // The session keeps the token prefix this conversation shares with the previous request:
      // a follow-up turn evaluates only its new tokens (usage.prompt_tokens_details).
      const out = await this.#generate(session, (p, cb) => session.chat(messages, p, cb), request, onDelta, signal);
      return {
        id: out.id,
        object: 'chat.completion',
        created: out.created,
        model: this.#modelId,
        choices: [{ index: 0, message: { role: 'assistant', content: out.text }, finish_reason: out.finish, logprobs: out.logprobs }],
        usage: out.usage,
      };
    });
  }

  /** An OpenAI (legacy) completion of a raw prompt; see `chatCompletion`. */
  completion(request, onDelta, signal) {
    return this.#enqueue(async () => {
      const session = this.#sessionOf(request.session);
      if (typeof request.prompt !== 'string' || request.prompt === '') {
        throw new BrasaError('invalid_argument', 'prompt must be a non-empty string');
      }
      session.reset();
      const out = await this.#generate(session, (p, cb) => session.generate(request.prompt, p, cb), request, onDelta, signal);
      return {
        id: out.id,
        object: 'text_completion',
        created: out.created,
        model: this.#modelId,
        choices: [{ index: 0, text: out.text, finish_reason: out.finish, logprobs: out.logprobs }],
        usage: out.usage,
      };
    });
  }

  #requireModel() {
    if (!this.#model) throw new BrasaError('no_model', 'no model is loaded: call engine.load(url) first');
    return this.#model;
  }

  /** Runs `start(params, onText)` (a call of `session`) for an OpenAI request. */
  async #generate(session, start, request, onDelta, signal) {
    if (signal?.aborted) throw new BrasaError('aborted', 'the request was aborted');
    const params = samplingParams(request);
    const t0 = performance.now();
    let stats;
    try {
      stats = await start(params, (text, lps) => {
        if (signal?.aborted) return false;
        onDelta?.({ content: text, logprobs: lps ? lps.map(openaiLogprob) : null });
        return true;
      });
    } catch (e) {
      // A failed generation leaves the cache in an unknown state: start the next one afresh.
      session.reset();
      throw toBrasaError(e, 'generation_failed');
    }
    if (stats.finish === 'cancelled') throw new BrasaError('aborted', 'the request was aborted');
    return {
      id: `brasa-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      created: Math.floor(Date.now() / 1000),
      text: stats.text,
      logprobs: stats.logprobs ? { content: stats.logprobs.map(openaiLogprob) } : null,
      // OpenAI has no "context full": like a token limit, it is `length`.
      finish: stats.finish === 'stop' ? 'stop' : 'length',
      usage: {
        prompt_tokens: stats.promptTokens,
        completion_tokens: stats.generatedTokens,
        total_tokens: stats.promptTokens + stats.generatedTokens,
        prompt_tokens_details: { cached_tokens: stats.cachedTokens },
        timings: {
          ttft_ms: stats.ttftS * 1000,
          prefill_tokens_per_s: stats.prefillTokS,
          decode_tokens_per_s: stats.decodeTokS,
          total_ms: performance.now() - t0,
          context_shifts: stats.contextShifts,
        },
      },
    };
  }
}

/** `[{role, content}]` with string contents (OpenAI's content-part arrays of text are joined). */
function checkMessages(messages) {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new BrasaError('invalid_argument', 'messages must be a non-empty array of {role, content}');
  }
  return messages.map((m, i) => {
    let content = m?.content;
    if (Array.isArray(content)) content = content.map((p) => (p?.type === 'text' ? p.text : '')).join('');
    if (typeof m?.role !== 'string' || typeof content !== 'string') {
      throw new BrasaError('invalid_argument', `messages[${i}] must be {role: string, content: string}`);
    }
    return { role: m.role, content };
  });
}

const utf8 = new TextEncoder();

/** One token's log-probabilities in OpenAI's shape (`top_logprobs` most likely first). */
function openaiLogprob(t) {
  const one = (x) => ({ token: x.text, logprob: x.logprob, bytes: Array.from(utf8.encode(x.text)) });
  return { ...one(t), top_logprobs: t.top.map(one) };
}

/** OpenAI request fields → the wasm Session's generation parameters. */
function samplingParams(r) {
  const stop = r.stop == null ? [] : Array.isArray(r.stop) ? r.stop : [r.stop];
  const p = {
    maxTokens: r.max_tokens ?? r.max_completion_tokens ?? DEFAULT_MAX_TOKENS,
    temperature: r.temperature ?? 1,
    topP: r.top_p ?? 1,
    minP: r.min_p ?? 0,
    repetitionPenalty: r.repetition_penalty ?? 1,
    frequencyPenalty: r.frequency_penalty ?? 0,
    presencePenalty: r.presence_penalty ?? 0,
    stop,
  };
  // top_k is not OpenAI's; without it the engine keeps llama.cpp's 40.
  if (r.top_k != null) p.topK = r.top_k;
  // Without a seed every request samples differently, as OpenAI's API does.
  p.seed = r.seed ?? Math.floor(Math.random() * 2 ** 31);
  if (r.logit_bias != null) p.logitBias = r.logit_bias;
  // The distribution the sampler saw (after bias and penalties, at temperature 1).
  if (r.logprobs) {
    p.logprobs = true;
    p.topLogprobs = r.top_logprobs ?? 0;
  }
  return p;
}

/**
 * Runs operation `op` of the engine protocol (index.js's inline backend and worker.js both speak
 * it): `args` as the page sent them, `hooks` the callbacks and signal of this call.
 */
export function runOp(engine, op, args, { onProgress, onDelta, signal } = {}) {
  switch (op) {
    case 'gpuInfo':
      return engine.gpuInfo();
    case 'load':
      return engine.load(args.source, { ...args.opts, onProgress, signal });
    case 'unload':
      return engine.unload();
    case 'loseDevice':
      return engine.loseDevice();
    case 'forkSession':
      return engine.forkSession(args.from);
    case 'dropSession':
      return engine.dropSession(args.id);
    case 'chat':
      return engine.chatCompletion(args.request, onDelta, signal);
    case 'completion':
      return engine.completion(args.request, onDelta, signal);
  }
  throw new BrasaError('invalid_argument', `unknown operation ${op}`);
}
