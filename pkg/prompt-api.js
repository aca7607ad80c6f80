// A `LanguageModel` (Chrome's built-in Prompt API shape) backed by any GGUF through brasa, so a
// page written for Chrome's built-in model runs unchanged:
//
//   import { installLanguageModel } from 'brasa';
//   installLanguageModel({ model: 'https://…/model.gguf' });   // sets globalThis.LanguageModel
//   const session = await LanguageModel.create({ initialPrompts: [{ role: 'system', content: '…' }] });
//   for await (const piece of session.promptStreaming('Hi!')) output.append(piece);
//
// A session is a conversation. Sessions made by `create` share one engine and its default K/V
// cache, whose longest shared token prefix is reused (a follow-up prompt evaluates only the new
// tokens); `clone()` snapshots the cache into a session of its own (engine.forkSession), so the
// original and the clone each go on from their own cache, until `destroy()` frees it. The model
// downloads on the first `create`, reporting `downloadprogress` events (`loaded` from 0 to 1) to
// `monitor`.
import { createEngine, listCachedModels } from './index.js';
import { BrasaError } from './errors.js';

/**
 * Installs `globalThis.LanguageModel` backed by `model` (a GGUF URL). `contextLength` (default
 * 4096), `maxTokens` (longest reply; default: the context), `cache` (default true: the model is
 * kept in Cache Storage), `worker` (default true).
 * @returns {typeof LanguageModel} the class it installed
 */
export function installLanguageModel(options) {
  const LM = languageModelClass(options);
  globalThis.LanguageModel = LM;
  return LM;
}

/** The `LanguageModel` class for `options` (see installLanguageModel) without installing it. */
export function languageModelClass({ model, contextLength = 4096, maxTokens = contextLength, cache = true, worker = true }) {
  if (!model) throw new BrasaError('invalid_argument', 'installLanguageModel needs { model: url }');
  let engine = null;
  let loading = null;
  const monitors = new Set();

  /** The engine with the model loaded (once; concurrent callers share the load). */
  function ready(signal) {
    loading ??= (async () => {
      engine = await createEngine({ worker });
      await engine.load(model, {
        cache,
        contextLength,
        signal,
        onProgress: (done, total) => {
          for (const m of monitors) m.dispatchEvent(progressEvent(done / total));
        },
      });
      return engine;
    })().catch((e) => {
      loading = null;
      throw e;
    });
    return loading;
  }

  class LanguageModel extends EventTarget {
    #messages;
    #options;
    #destroyed = false;
    #usage = 0;
    /** The engine session (K/V cache) this conversation runs on: 0, the shared one, or a clone's own. */
    #session;

    constructor(messages, options, session = 0) {
      super();
      this.#messages = messages;
      this.#options = options;
      this.#session = session;
    }

    /** 'available' when loaded or cached, 'downloadable' when not yet, 'unavailable' without WebGPU. */
    static async availability() {
      if (!globalThis.navigator?.gpu || !(await navigator.gpu.requestAdapter())) return 'unavailable';
      if (engine?.model) return 'available';
      if (loading) return 'downloading';
      const url = new URL(model, globalThis.location?.href).href;
      const cached = cache && (await listCachedModels().catch(() => [])).some((m) => m.url === url);
      return cached ? 'available' : 'downloadable';
    }

    /** `{defaultTopK, maxTopK, defaultTemperature, maxTemperature}` as Chrome reports them. */
    static async params() {
      return { defaultTopK: 40, maxTopK: 256, defaultTemperature: 1, maxTemperature: 2 };
    }

    /**
     * A session: `initialPrompts` ([{role, content}]), `temperature` and `topK` (both or
     * neither), `monitor(m)` to listen for `downloadprogress`, `signal`.
     */
    static async create(options = {}) {
      const { initialPrompts = [], monitor, signal, temperature, topK } = options;
      if ((temperature === undefined) !== (topK === undefined)) {
        throw new DOMException('temperature and topK must be given together', 'NotSupportedError');
      }
      const m = new EventTarget();
      monitor?.(m);
      monitors.add(m);
      try {
        await ready(signal);
        if (!loading) throw new BrasaError('aborted', 'the download was aborted');
      } finally {
        monitors.delete(m);
      }
      m.dispatchEvent(progressEvent(1));
      return new LanguageModel(toMessages(initialPrompts, 'system'), { temperature, topK });
    }

    get contextWindow() {
      return contextLength;
    }

    /** Tokens the conversation used at the last prompt (prompt and reply). */
    get contextUsage() {
      return this.#usage;
    }

    // The newer names of the two above.
    get inputQuota() {
      return contextLength;
    }

    get inputUsage() {
      return this.#usage;
    }

    /** Adds `input` to the conversation without generating a reply. */
    async append(input) {
      this.#check();
      this.#messages.push(...toMessages(input, 'user'));
    }

    /** The reply to `input` (a string or [{role, content}]), as a whole string. */
    async prompt(input, { signal } = {}) {
      let text = '';
      for await (const piece of this.#stream(input, signal)) text += piece;
      return text;
    }

    /** The reply to `input` as a ReadableStream of text pieces. */
    promptStreaming(input, { signal } = {}) {
      const it = this.#stream(input, signal);
      return new ReadableStream({
        async pull(controller) {
          try {
            const { value, done } = await it.next();
            if (done) controller.close();
            else controller.enqueue(value);
          } catch (e) {
            controller.error(e);
          }
        },
        cancel: () => it.return(),
      });
    }

    async *#stream(input, signal) {
      this.#check();
      const messages = [...this.#messages, ...toMessages(input, 'user')];
      const { temperature, topK } = this.#options;
      const stream = await engine.chat.completions.create({
        messages,
        session: this.#session,
        stream: true,
        signal,
        max_tokens: maxTokens,
        ...(temperature === undefined ? {} : { temperature, top_k: topK }),
      });
      let reply = '';
      for await (const chunk of stream) {
        const piece = chunk.choices[0].delta.content;
        if (piece) {
          reply += piece;
          yield piece;
        }
        if (chunk.usage) this.#usage = chunk.usage.total_tokens;
      }
      // The exchange becomes part of the conversation only once the reply is complete.
      this.#messages = [...messages, { role: 'assistant', content: reply }];
    }

    /**
     * A new session with the same conversation so far and a snapshot of its K/V cache: its next
     * prompt evaluates only its new tokens, whatever the original does in between.
     */
    async clone() {
      this.#check();
      const session = await engine.forkSession(this.#session);
      const copy = new LanguageModel(structuredClone(this.#messages), { ...this.#options }, session);
      copy.#usage = this.#usage;
      return copy;
    }

    /** Ends the session; a clone's K/V cache is freed. */
    destroy() {
      if (this.#destroyed) return;
      this.#destroyed = true;
      if (this.#session !== 0) engine.dropSession(this.#session).catch(() => {});
    }

    #check() {
      if (this.#destroyed) throw new DOMException('the session was destroyed', 'InvalidStateError');
    }
  }
  return LanguageModel;
}

/** A Prompt API input (a string, or [{role, content}]) as chat messages; strings get `role`. */
function toMessages(input, role) {
  if (typeof input === 'string') return [{ role, content: input }];
  if (Array.isArray(input)) {
    return input.map((m) => ({ role: m.role ?? role, content: typeof m.content === 'string' ? m.content : String(m.content) }));
  }
  throw new TypeError('a prompt is a string or an array of {role, content}');
}

function progressEvent(loaded) {
  const e = new Event('downloadprogress');
  e.loaded = loaded;
  e.total = 1;
  return e;
}
