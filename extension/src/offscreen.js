// The engine host: runs in the extension's offscreen document, which Chrome keeps open until the
// extension closes it (unlike the side panel, which is destroyed when closed, and the service
// worker, which is stopped when idle and cannot start Workers). It starts brasa's engine (in its
// dedicated Worker), loads the model the clients ask for — a URL through the package's Cache
// Storage cache, or the local file kept in OPFS — and streams chat replies to every connected
// client over chrome.runtime ports (protocol.js). A reply keeps going when the panel closes: the
// reopened panel receives what was written meanwhile from `hello`.
import { createEngine } from 'brasa';
import { PORT, errorInfo } from './protocol.js';
import { readLocalModel } from './local-model.js';
import { modelLabel } from './settings.js';

/** Recent requests kept for panels that reconnect (the running one and a few finished ones). */
const KEPT_JOBS = 8;
/** Progress messages at most this often (a download reports every network chunk). */
const PROGRESS_MS = 250;

const ports = new Set();
/** @type {Map<string, import('./protocol.js').Job>} */
const jobs = new Map();
const aborts = new Map();

/** @type {import('./protocol.js').Status} */
let status = { state: 'starting', label: '', model: null, contextLength: 0, progress: null, error: null, gpu: '' };
/** The key of the model in the engine, and the load under way (with its key and abort). */
let loadedKey = null;
let loading = null;

// Registered before anything is awaited, so that a client that connects as soon as the document
// exists is heard.
chrome.runtime.onConnect.addListener((port) => {
  if (port.name !== PORT) return;
  ports.add(port);
  port.onDisconnect.addListener(() => ports.delete(port));
  port.onMessage.addListener((message) => handle(message).catch((e) => console.error('brasa host:', e)));
  port.postMessage({ type: 'hello', status, jobs: [...jobs.values()] });
});

const engine = createEngine().then(
  async (e) => {
    const gpu = await e.gpuInfo();
    const adapter = gpu.browserAdapter;
    const name = adapter ? `${adapter.vendor} ${adapter.architecture} ${adapter.description}`.trim() : gpu.adapter.name;
    setStatus({ state: 'idle', gpu: name || gpu.backend });
    return e;
  },
  (e) => {
    setStatus({ state: 'error', error: errorInfo(e, 'webgpu_unavailable') });
    throw e;
  },
);

function broadcast(message) {
  for (const port of ports) port.postMessage(message);
}

function setStatus(patch) {
  status = { ...status, ...patch };
  broadcast({ type: 'status', status });
}

async function handle(message) {
  switch (message.type) {
    case 'load':
      return ensureModel(message.model, message.contextLength).catch(() => {}); // reported in the status
    case 'chat':
      return chat(message);
    case 'stop':
      return aborts.get(message.id)?.abort();
  }
}

/**
 * Loads `model` with a K/V cache of `contextLength` tokens unless exactly that is loaded or
 * loading. A different model replaces the one loading (its download is aborted).
 */
function ensureModel(model, contextLength) {
  if (!model) return Promise.reject(Object.assign(new Error('no model is chosen: choose one in the options'), { code: 'no_model' }));
  const key = JSON.stringify({ model, contextLength });
  if (loadedKey === key) return Promise.resolve();
  if (loading?.key === key) return loading.promise;
  loading?.controller.abort();
  const controller = new AbortController();
  const current = { key, controller, promise: null };
  current.promise = load(model, contextLength, controller.signal).then(
    () => {
      if (loading === current) loading = null;
      loadedKey = key;
    },
    (e) => {
      if (loading === current) {
        loading = null;
        setStatus({ state: 'error', progress: null, error: errorInfo(e, 'network') });
      }
      throw e;
    },
  );
  loading = current;
  return current.promise;
}

async function load(model, contextLength, signal) {
  const e = await engine;
  loadedKey = null;
  setStatus({ state: 'loading', label: modelLabel(model), model: null, contextLength, error: null, progress: null });
  let last = 0;
  const onProgress = (done, total, info) => {
    const now = performance.now();
    if (now - last < PROGRESS_MS && done < total) return;
    last = now;
    setStatus({ progress: { done, total, phase: info.phase, bytesPerSecond: info.bytesPerSecond } });
  };
  // A URL goes through the package's Cache Storage cache: downloaded once, then read from disk.
  const source = model.kind === 'file' ? await readLocalModel(model.name) : model.url;
  const summary = await e.load(source, { cache: model.kind === 'url', contextLength, signal, onProgress });
  if (!signal.aborted) setStatus({ state: 'ready', model: summary, progress: null });
}

async function chat({ id, model, contextLength, request }) {
  const job = { id, text: '', finished: null };
  jobs.set(id, job);
  while (jobs.size > KEPT_JOBS) jobs.delete(jobs.keys().next().value);
  const controller = new AbortController();
  aborts.set(id, controller);
  const stopped = new Promise((_, reject) =>
    controller.signal.addEventListener('abort', () => reject(Object.assign(new Error('stopped'), { code: 'aborted' }))),
  );
  stopped.catch(() => {});
  try {
    const e = await engine;
    // A stop while the model still loads ends this request; the load goes on for the next one.
    await Promise.race([ensureModel(model, contextLength), stopped]);
    const stream = await e.chat.completions.create({ ...request, stream: true, signal: controller.signal });
    for await (const chunk of stream) {
      const [choice] = chunk.choices;
      if (choice.delta.content) {
        job.text += choice.delta.content;
        broadcast({ type: 'delta', id, text: choice.delta.content });
      }
      if (choice.finish_reason) job.finished = { finish_reason: choice.finish_reason, usage: chunk.usage };
    }
    broadcast({ type: 'done', id, ...job.finished });
  } catch (e) {
    job.finished = { error: errorInfo(e) };
    broadcast({ type: 'failed', id, error: job.finished.error });
  } finally {
    aborts.delete(id);
  }
}
