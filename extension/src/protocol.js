// The messages between the engine host (the offscreen document, offscreen.js) and its clients
// (the side panel and the options page), over a chrome.runtime port named PORT. A port between
// two extension pages does not involve the service worker, so the service worker's limits (stopped
// after 30 s idle or 5 minutes on one event) do not touch a generation.
//
// Client → host:
//   {type: 'load', model: ModelChoice, contextLength}      load this model unless it is loaded
//   {type: 'chat', id, model, contextLength, request}      `request`: an OpenAI chat request (no
//                                                          stream/signal); the model is loaded first
//   {type: 'stop', id}                                     abort request `id`
// Host → every client:
//   {type: 'hello', status, jobs}                          on connecting: the engine's status and
//                                                          the recent requests (see Job), so that a
//                                                          reopened panel picks up a running reply
//   {type: 'status', status}                               the engine's status changed (Status)
//   {type: 'delta', id, text}                              more of request `id`'s reply
//   {type: 'done', id, finish_reason, usage}               request `id` finished
//   {type: 'failed', id, error: {code, message}}           request `id` failed (code `aborted` when stopped)

/** The port's name. */
export const PORT = 'brasa-engine';

/** The offscreen document that hosts the engine. */
export const OFFSCREEN_PATH = 'offscreen.html';

/**
 * @typedef {{ state: 'starting' | 'idle' | 'loading' | 'ready' | 'error', label: string,
 *   model: object | null, contextLength: number, progress: { done: number, total: number, phase: string,
 *   bytesPerSecond: number } | null, error: { code: string, message: string } | null, gpu: string }} Status
 * @typedef {{ id: string, text: string, finished: null | { finish_reason: string, usage: object } |
 *   { error: { code: string, message: string } } }} Job
 */

/** `{code, message}` of any thrown value (BrasaErrors keep their code). */
export function errorInfo(e, fallback = 'internal') {
  return { code: typeof e?.code === 'string' ? e.code : fallback, message: e?.message ?? String(e) };
}
