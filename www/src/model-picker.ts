// The model picker (the side panel's Model tab): the default model served with the playground, any
// GGUF URL (inspected from its header before the download), or a local file (picker or drop). It
// loads through `engine.load` with progress and a Cancel, and tells the rest of the page (a
// 'change' event) when a model is loading, ready or gone.
import * as brasa from '../../pkg/index.js';
import type { Engine, ModelInspection, ModelSummary } from '../../pkg/index.js';
import { facts, h } from './dom';
import { bytes, count, errorText } from './format';
import type { LoadProgress } from './load-progress';
import type { SettingsPanel } from './settings';
import { getSetting, putSetting } from './storage';

/** Served next to the page (Vite's dev server maps models/ to the repository's models/ folder). */
export const DEFAULT_MODEL = { path: 'models/gemma-3-270m-q4_k_m.gguf', label: 'gemma-3-270m Q4_K_M' };

export interface LoadedModel {
  summary: ModelSummary;
  /** A URL, or the name of a local file. */
  source: string;
  contextLength: number;
  /** The memory plan from the header (inspectModel), when it could be read. */
  plan: ModelInspection | null;
}

type Source = { url: string } | { file: File };

export class ModelPicker extends EventTarget {
  state: 'none' | 'loading' | 'ready' = 'none';
  loaded: LoadedModel | null = null;
  #engine: Engine;
  #settings: SettingsPanel;
  #progress: LoadProgress;
  #root: HTMLElement;
  #controller: AbortController | null = null;
  #last: Source | null = null;
  #current = h('div', { id: 'model-current' });
  #inspection = h('div', { id: 'inspect-result', 'aria-live': 'polite' });
  #url = h('input', { id: 'model-url', type: 'url', placeholder: 'https://huggingface.co/OWNER/REPO/resolve/main/FILE.gguf', required: true });
  #keep = h('input', { id: 'keep-cache', type: 'checkbox', checked: true });

  constructor(engine: Engine, settings: SettingsPanel, progress: LoadProgress, root: HTMLElement) {
    super();
    this.#engine = engine;
    this.#settings = settings;
    this.#progress = progress;
    this.#root = root;
  }

  /** Draws the panel; loads `?model=URL`, else the last URL model, else the default model. */
  async init(): Promise<void> {
    this.#render();
    this.#keep.checked = (await getSetting<boolean>('keepCache')) ?? true;
    this.#keep.addEventListener('change', () => void putSetting('keepCache', this.#keep.checked));
    const asked = new URLSearchParams(location.search).get('model');
    const last = await getSetting<string | null>('lastModel');
    if (last === null && !asked) {
      // The last model was a local file: it cannot be reopened without the user.
      this.#renderCurrent('Open your file again to load it (a page cannot reopen local files).');
      return;
    }
    void this.loadUrl(asked ?? last ?? DEFAULT_MODEL.path);
  }

  get defaultUrl(): string {
    return new URL(DEFAULT_MODEL.path, location.href).href;
  }

  /**
   * Loads a GGUF by URL (relative to the page), reading its header first for the memory plan;
   * `showHeader`: also show what the header says in the URL section while the file downloads.
   */
  async loadUrl(url: string, { showHeader = false } = {}): Promise<void> {
    const href = new URL(url, location.href).href;
    await this.#load({ url: href }, showHeader);
  }

  async loadFile(file: File): Promise<void> {
    await this.#load({ file });
  }

  /** Loads the current model again (e.g. with a new context length). */
  async reload(): Promise<void> {
    if (this.#last) await this.#load(this.#last);
  }

  /** Aborts a load in progress. */
  cancel(): void {
    this.#controller?.abort();
  }

  /** Lets a GGUF file dropped anywhere on `target` load. */
  acceptDrops(target: HTMLElement, overlay: HTMLElement): void {
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
    let depth = 0;
    target.addEventListener('dragenter', (e) => {
      if (!hasFiles(e)) return;
      depth += 1;
      overlay.hidden = false;
    });
    target.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) overlay.hidden = true;
    });
    target.addEventListener('dragover', (e) => {
      if (hasFiles(e)) e.preventDefault(); // allows the drop
    });
    target.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      overlay.hidden = true;
      const file = e.dataTransfer?.files[0];
      if (file) void this.loadFile(file);
    });
  }

  async #load(source: Source, showHeader = false): Promise<void> {
    this.#controller?.abort();
    const controller = new AbortController();
    this.#controller = controller;
    const name = 'url' in source ? fileName(source.url) : source.file.name;
    const contextLength = this.#settings.values.contextLength;
    this.#last = source;
    this.loaded = null;
    this.#setState('loading');
    this.#renderCurrent(`Loading ${name}…`);
    this.#progress.start(name, () => controller.abort());
    try {
      const plan = await this.#plan(source, contextLength, controller.signal);
      if (showHeader) {
        if (plan) this.#showInspection(plan);
        else this.#inspection.replaceChildren(h('p', { class: 'muted' }, 'The header could not be read first; loading anyway.'));
      }
      const summary = await this.#engine.load('url' in source ? source.url : source.file, {
        signal: controller.signal,
        cache: 'url' in source && this.#keep.checked,
        contextLength,
        onProgress: (done, total, info) => {
          if (this.#controller === controller) this.#progress.update(name, done, total, info);
        },
      });
      if (this.#controller !== controller) return; // a newer load replaced this one
      this.loaded = { summary, source: 'url' in source ? source.url : source.file.name, contextLength, plan };
      void putSetting('lastModel', 'url' in source ? source.url : null);
      this.#progress.finish(null);
      this.#setState('ready');
      this.#renderCurrent();
    } catch (e: any) {
      if (this.#controller !== controller) return;
      const cancelled = e?.code === 'aborted';
      this.#progress.finish(cancelled ? `Loading ${name} was cancelled.` : `Could not load ${name}: ${errorText(e)}`, cancelled ? 'info' : 'error');
      this.#setState('none');
      this.#renderCurrent(cancelled ? 'No model loaded (the load was cancelled).' : `No model loaded: ${errorText(e)}`);
    } finally {
      if (this.#controller === controller) this.#controller = null;
    }
  }

  /**
   * The model's memory plan from its header. Kept in IndexedDB per URL and context length, so
   * that a cached model loaded offline still has one; a local file is read through a blob URL.
   * Null when the header cannot be read (the load then reports what is wrong).
   */
  async #plan(source: Source, contextLength: number, signal: AbortSignal): Promise<ModelInspection | null> {
    const key = 'url' in source ? `plan:${source.url}@${contextLength}` : null;
    const url = 'url' in source ? source.url : URL.createObjectURL(source.file);
    try {
      const plan = await brasa.inspectModel(url, { contextLength, signal });
      if (key) void putSetting(key, plan);
      return plan;
    } catch (e: any) {
      if (e?.code === 'aborted') throw e;
      return key ? ((await getSetting<ModelInspection>(key)) ?? null) : null;
    } finally {
      if (!('url' in source)) URL.revokeObjectURL(url);
    }
  }

  async #inspectTyped(): Promise<void> {
    if (!this.#url.reportValidity()) return;
    this.#inspection.replaceChildren(h('p', { class: 'muted' }, 'Reading the header…'));
    try {
      const plan = await brasa.inspectModel(this.#url.value, { contextLength: this.#settings.values.contextLength });
      this.#showInspection(plan);
    } catch (e) {
      this.#inspection.replaceChildren(h('p', { class: 'error' }, errorText(e)));
    }
  }

  #showInspection(p: ModelInspection): void {
    const types = Object.entries(p.types)
      .sort((a, b) => b[1] - a[1])
      .map(([t, n]) => `${t} ×${n}`)
      .join(', ');
    this.#inspection.replaceChildren(
      h('h3', {}, p.name || 'Model'),
      facts([
        ['Architecture', p.architecture],
        ['File size', bytes(p.fileBytes)],
        ['Parameters', `${(p.parameters / 1e6).toFixed(0)} M`],
        ['Layers', String(p.nLayer)],
        ['Trained context', count(p.contextLength)],
        ['Tensor types', types],
        ['GPU memory plan', planText(p)],
        ['Header read', bytes(p.bytesFetched)],
      ]),
      p.fits ? h('p', { class: 'ok' }, 'Fits this GPU.') : h('ul', { class: 'error' }, ...p.reasons.map((r) => h('li', {}, r))),
    );
  }

  #setState(state: ModelPicker['state']): void {
    this.state = state;
    this.dispatchEvent(new Event('change'));
  }

  #renderCurrent(message?: string): void {
    const m = this.loaded;
    if (!m) {
      this.#current.replaceChildren(h('p', { class: 'muted' }, message ?? 'No model loaded.'));
      return;
    }
    const s = m.summary;
    const p = m.plan;
    this.#current.replaceChildren(
      facts([
        ['Name', s.name || s.id],
        ['Architecture', s.architecture],
        ['Source', h('span', { title: m.source }, fileName(m.source))],
        ['File size', bytes(s.bytes)],
        ['Shape', `${s.nLayer} layers, ${s.nEmbd} wide, ${count(s.nVocab)} tokens`],
        ['Context', `${count(m.contextLength)} tokens`],
        ['GPU memory', p ? planText(p) : `${bytes(s.weightBytes)} of weights (no header plan)`],
      ]),
    );
  }

  #render(): void {
    const file = h('input', {
      id: 'model-file',
      type: 'file',
      accept: '.gguf',
      class: 'visually-hidden',
      onchange: () => {
        const f = file.files?.[0];
        if (f) void this.loadFile(f);
        file.value = '';
      },
    });
    const urlForm = h(
      'form',
      { class: 'row', onsubmit: (e: Event) => (e.preventDefault(), void this.loadUrl(this.#url.value, { showHeader: true })) },
      this.#url,
      h('button', { type: 'button', onclick: () => void this.#inspectTyped() }, 'Inspect'),
      h('button', { type: 'submit', class: 'primary' }, 'Load'),
    );
    this.#root.replaceChildren(
      h('section', {}, h('h2', {}, 'Loaded model'), this.#current),
      h(
        'section',
        {},
        h('h2', {}, 'Default model'),
        h('p', {}, `${DEFAULT_MODEL.label}, served with the playground (${DEFAULT_MODEL.path}).`),
        h('button', { id: 'load-default', class: 'primary', onclick: () => void this.loadUrl(DEFAULT_MODEL.path) }, 'Load the default model'),
      ),
      h(
        'section',
        {},
        h('h2', {}, h('label', { for: 'model-url' }, 'A GGUF from a URL')),
        h('p', { class: 'muted' }, 'Inspect reads only the header (a few MiB at most): size, architecture and whether it fits, before any download.'),
        urlForm,
        this.#inspection,
      ),
      h(
        'section',
        {},
        h('h2', {}, 'A GGUF on this device'),
        h('label', { class: 'button', for: 'model-file' }, 'Open a file…'),
        file,
        h('p', { class: 'muted' }, 'Or drop a .gguf file anywhere on the page. It is read from disk, never uploaded.'),
      ),
      h('label', { class: 'check' }, this.#keep, ' Keep downloaded models for offline use (Cache Storage)'),
    );
  }
}

/** The memory plan in one line: the total and its parts. */
function planText(p: ModelInspection): string {
  return `${bytes(p.totalBytes)}: weights ${bytes(p.weightBytes)}, K/V cache ${bytes(p.kvCacheBytes)}, scratch ${bytes(p.scratchBytes)}`;
}

/** The last path segment of a URL: what a person calls the model. */
function fileName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() || url);
  } catch {
    return url;
  }
}
