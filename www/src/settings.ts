// The generation settings (sampling parameters, reply length, context length): a form in the side
// panel, kept in IndexedDB. `request()` turns them into the engine's request fields.
import { h } from './dom';
import { getSetting, putSetting } from './storage';

export interface Settings {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  /** Empty: a new random seed for every reply. */
  seed: string;
  maxTokens: number;
  contextLength: number;
}

export const DEFAULTS: Settings = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1,
  seed: '',
  maxTokens: 256,
  contextLength: 4096,
};

interface Field {
  key: keyof Settings;
  label: string;
  min: number;
  max: number;
  step: number;
  hint: string;
}

const FIELDS: Field[] = [
  { key: 'temperature', label: 'Temperature', min: 0, max: 2, step: 0.05, hint: '0 is greedy: always the most likely token.' },
  { key: 'topK', label: 'Top-k', min: 1, max: 1000, step: 1, hint: 'Keep only the k most likely tokens.' },
  { key: 'topP', label: 'Top-p', min: 0, max: 1, step: 0.01, hint: 'Keep the most likely tokens up to this total probability.' },
  { key: 'minP', label: 'Min-p', min: 0, max: 1, step: 0.01, hint: "Drop tokens below min-p × the best one's probability." },
  { key: 'repetitionPenalty', label: 'Repetition penalty', min: 0.5, max: 2, step: 0.01, hint: '1 is off; above 1 discourages repeating the last 64 tokens.' },
  { key: 'maxTokens', label: 'Max tokens', min: 1, max: 32768, step: 1, hint: 'The longest reply.' },
  { key: 'contextLength', label: 'Context length', min: 64, max: 131072, step: 64, hint: 'Tokens of K/V cache; takes effect when a model loads.' },
];

export class SettingsPanel {
  #values: Settings = { ...DEFAULTS };
  #root: HTMLElement;
  #onContextChange: () => void;

  /** `onContextChange`: the context length changed (it applies at the next load). */
  constructor(root: HTMLElement, onContextChange: () => void) {
    this.#root = root;
    this.#onContextChange = onContextChange;
  }

  async init(): Promise<void> {
    const saved = await getSetting<Partial<Settings>>('settings');
    this.#values = { ...DEFAULTS, ...saved };
    this.#render();
  }

  get values(): Readonly<Settings> {
    return this.#values;
  }

  /** The sampling fields of a chat completion request. */
  request() {
    const v = this.#values;
    const seed = v.seed.trim() === '' ? undefined : Number(v.seed);
    return {
      temperature: v.temperature,
      top_k: v.topK,
      top_p: v.topP,
      min_p: v.minP,
      repetition_penalty: v.repetitionPenalty,
      max_tokens: v.maxTokens,
      ...(seed !== undefined && Number.isSafeInteger(seed) ? { seed } : {}),
    };
  }

  #render(): void {
    const form = h('form', { class: 'settings', onsubmit: (e: Event) => e.preventDefault() });
    for (const f of FIELDS) {
      const input = h('input', {
        id: `setting-${f.key}`,
        name: f.key,
        type: 'number',
        inputmode: 'decimal',
        min: f.min,
        max: f.max,
        step: f.step,
        value: this.#values[f.key],
        // Stored as typed (a request sent before the field loses focus uses it); tidied on change.
        oninput: () => this.#set(f, input, false),
        onchange: () => this.#set(f, input, true),
      });
      form.append(h('label', { class: 'field', for: input.id }, h('span', {}, f.label), input, h('small', {}, f.hint)));
    }
    const seed = h('input', {
      id: 'setting-seed',
      name: 'seed',
      type: 'text',
      inputmode: 'numeric',
      pattern: '[0-9]*',
      placeholder: 'random',
      value: this.#values.seed,
      oninput: () => this.#store({ seed: seed.value.replace(/\D/g, '').slice(0, 10) }),
      onchange: () => {
        const clean = seed.value.replace(/\D/g, '').slice(0, 10);
        seed.value = clean;
        this.#store({ seed: clean });
      },
    });
    form.append(h('label', { class: 'field', for: seed.id }, h('span', {}, 'Seed'), seed, h('small', {}, 'Same seed and settings, same reply. Empty: random.')));
    form.append(
      h('button', { type: 'button', class: 'ghost', onclick: () => this.#reset() }, 'Reset to defaults'),
    );
    this.#root.replaceChildren(form);
  }

  /** Stores a field's value, within its range; `tidy` also writes the stored value back. */
  #set(f: Field, input: HTMLInputElement, tidy: boolean): void {
    let n = Number(input.value);
    if (input.value.trim() === '' || !Number.isFinite(n)) {
      if (!tidy) return; // half-typed
      n = DEFAULTS[f.key] as number;
    }
    n = Math.min(f.max, Math.max(f.min, n));
    if (f.step >= 1) n = Math.round(n);
    if (tidy) input.value = String(n);
    // The context length applies at the next load: only a finished value counts.
    if (f.key === 'contextLength' && !tidy) return;
    this.#store({ [f.key]: n });
  }

  #store(patch: Partial<Settings>): void {
    const contextChanged = patch.contextLength !== undefined && patch.contextLength !== this.#values.contextLength;
    this.#values = { ...this.#values, ...patch };
    void putSetting('settings', this.#values);
    if (contextChanged) this.#onContextChange();
  }

  #reset(): void {
    const contextChanged = this.#values.contextLength !== DEFAULTS.contextLength;
    this.#values = { ...DEFAULTS };
    void putSetting('settings', this.#values);
    this.#render();
    if (contextChanged) this.#onContextChange();
  }
}
