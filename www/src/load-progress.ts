// The load progress strip shown above the chat while a model loads: a bar, bytes, rate, ETA and
// the phase, and a Cancel button (Dismiss once the load has ended with a message).
import { byId } from './dom';
import { bytes, duration } from './format';

const PHASES: Record<string, string> = {
  compile: 'Compiling GPU kernels',
  download: 'Downloading',
  cache: 'Reading from the offline cache',
  read: 'Reading the file',
};

export class LoadProgress {
  #root = byId('load-status');
  #bar = byId<HTMLProgressElement>('load-bar');
  #text = byId('load-text');
  #cancel = byId<HTMLButtonElement>('load-cancel');
  #action = byId<HTMLButtonElement>('load-action');
  #onCancel: (() => void) | null = null;
  #onAction: (() => void) | null = null;

  constructor() {
    this.#cancel.addEventListener('click', () => this.#onCancel?.());
    this.#action.addEventListener('click', () => {
      this.#root.hidden = true;
      this.#onAction?.();
    });
  }

  /** Shows the strip for a new load of `name`; `onCancel` aborts it. */
  start(name: string, onCancel: () => void): void {
    this.#onCancel = onCancel;
    this.#root.hidden = false;
    this.#root.dataset.state = 'loading';
    this.#bar.removeAttribute('value'); // indeterminate until the first bytes
    this.#cancel.textContent = 'Cancel';
    this.#action.hidden = true;
    this.#text.textContent = `Loading ${name}…`;
  }

  /** The engine's onProgress(done, total, {phase, bytesPerSecond}). */
  update(name: string, done: number, total: number, info: { phase: string; bytesPerSecond: number }): void {
    const phase = PHASES[info.phase] ?? info.phase;
    if (!total) {
      this.#bar.removeAttribute('value');
      this.#text.textContent = `${phase}…`;
      return;
    }
    this.#bar.max = total;
    this.#bar.value = done;
    this.#root.dataset.phase = info.phase;
    if (done >= total) {
      this.#text.textContent = `${name}: ${bytes(total)} read, setting up the model…`;
      return;
    }
    const eta = info.bytesPerSecond > 0 ? (total - done) / info.bytesPerSecond : NaN;
    this.#text.textContent =
      `${phase} ${name}: ${bytes(done)} of ${bytes(total)} (${((100 * done) / total).toFixed(0)}%) · ` +
      `${bytes(info.bytesPerSecond)}/s · ${Number.isFinite(eta) ? `${duration(eta)} left` : 'estimating…'}`;
  }

  /**
   * The load ended: hides the strip, or leaves a message (an error, a cancel, a notice) with no
   * bar and, optionally, a button for what to do about it.
   */
  finish(message: string | null, kind: 'error' | 'info' = 'info', action?: { label: string; run: () => void }): void {
    this.#onAction = action?.run ?? null;
    this.#action.hidden = !action;
    if (action) this.#action.textContent = action.label;
    if (message === null) {
      this.#root.hidden = true;
      return;
    }
    this.#root.dataset.state = kind;
    this.#text.textContent = message;
    this.#cancel.textContent = 'Dismiss';
    this.#onCancel = () => (this.#root.hidden = true);
  }
}
