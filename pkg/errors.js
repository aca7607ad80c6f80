// BrasaError: every failure the package reports, with a stable `code` (see crate/src/error.rs for
// the engine's codes; the package adds `webgpu_unavailable`, `no_model`, `aborted`, `network`,
// `worker_failed`).

export class BrasaError extends Error {
  /**
   * @param {string} code stable, machine-readable
   * @param {string} message what happened and what to do, for a person
   */
  constructor(code, message) {
    super(message);
    this.name = 'BrasaError';
    this.code = code;
  }
}

/** `e` as a BrasaError: errors from the wasm module keep their code, others get `fallback`. */
export function toBrasaError(e, fallback) {
  if (e instanceof BrasaError) return e;
  const code = typeof e?.code === 'string' ? e.code : fallback;
  return new BrasaError(code, e?.message ?? String(e));
}
