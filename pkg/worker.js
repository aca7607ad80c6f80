// The dedicated Worker that runs the engine off the page's main thread (index.js starts it).
// Protocol: the page posts `{id, op, args}`; the worker answers `{id, type: 'progress' | 'delta' |
// 'result' | 'error', data}`. `{op: 'abort', args: {target}}` aborts request `target`.
import { LocalEngine, runOp } from './engine.js';
import { toBrasaError } from './errors.js';

let engine = new LocalEngine();
const aborts = new Map();

self.onmessage = async ({ data: { id, op, args } }) => {
  if (op === 'abort') {
    aborts.get(args.target)?.abort();
    return;
  }
  if (op === 'configure') {
    // createEngine's options, sent before any other call.
    engine = new LocalEngine(args.gpu);
    return;
  }
  const post = (type, data) => self.postMessage({ id, type, data });
  const controller = new AbortController();
  aborts.set(id, controller);
  const { signal } = controller;
  try {
    const result = await runOp(engine, op, args, {
      signal,
      onProgress: (done, total, info) => post('progress', { done, total, info }),
      onDelta: args.stream ? (t) => post('delta', t) : null,
    });
    post('result', result);
  } catch (e) {
    const err = toBrasaError(e, 'internal');
    post('error', { code: err.code, message: err.message });
  } finally {
    aborts.delete(id);
  }
};
