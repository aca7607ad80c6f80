// The side panel's Cache tab: the models kept for offline use (listCachedModels, with sizes), the
// origin's storage use and quota (navigator.storage.estimate), delete, and persistent storage.
import * as brasa from '../../pkg/index.js';
import { h } from './dom';
import { bytes, errorText } from './format';

export class CacheManager {
  #root: HTMLElement;
  #onLoad: (url: string) => void;

  /** `onLoad(url)`: the user asked to load a cached model. */
  constructor(root: HTMLElement, onLoad: (url: string) => void) {
    this.#root = root;
    this.#onLoad = onLoad;
  }

  async refresh(): Promise<void> {
    let models: Array<{ url: string; bytes: number }>;
    try {
      models = await brasa.listCachedModels();
    } catch (e) {
      this.#root.replaceChildren(h('p', { class: 'error' }, `The cache cannot be read: ${errorText(e)}`));
      return;
    }
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    const persisted = await navigator.storage?.persisted?.().catch(() => false);
    const total = models.reduce((sum, m) => sum + m.bytes, 0);
    const list = models.length
      ? h('ul', { class: 'cache-list', id: 'cache-list' }, ...models.map((m) => this.#row(m)))
      : h('p', { class: 'muted', id: 'cache-list' }, 'No model is cached yet. Models loaded with "Keep downloaded models for offline use" are kept here.');
    this.#root.replaceChildren(
      h('section', {}, h('h2', {}, `Cached models (${bytes(total)})`), list),
      h('section', {}, h('h2', {}, 'Storage'), this.#storage(estimate ?? null), this.#persist(Boolean(persisted))),
      h('button', { type: 'button', class: 'ghost', onclick: () => void this.refresh() }, 'Refresh'),
    );
  }

  #row(m: { url: string; bytes: number }): HTMLElement {
    const name = decodeURIComponent(new URL(m.url).pathname.split('/').pop() ?? m.url);
    return h(
      'li',
      { 'data-url': m.url },
      h('span', { class: 'name', title: m.url }, name),
      h('span', { class: 'size' }, bytes(m.bytes)),
      h('span', { class: 'actions' },
        h('button', { type: 'button', onclick: () => this.#onLoad(m.url) }, 'Load'),
        h('button', {
          type: 'button',
          class: 'danger',
          'aria-label': `Delete ${name}`,
          onclick: async () => {
            await brasa.deleteCachedModel(m.url);
            await this.refresh();
          },
        }, 'Delete'),
      ),
    );
  }

  #storage(estimate: StorageEstimate | null): HTMLElement {
    if (!estimate?.quota) return h('p', { class: 'muted' }, 'This browser does not report its storage quota.');
    const used = estimate.usage ?? 0;
    return h(
      'div',
      { id: 'storage-estimate' },
      h('meter', { min: 0, max: estimate.quota, value: used }),
      h('p', {}, `${bytes(used)} used of ${bytes(estimate.quota)} this site may use (${((100 * used) / estimate.quota).toFixed(1)}%).`),
    );
  }

  #persist(persisted: boolean): HTMLElement {
    if (persisted) return h('p', { class: 'ok' }, 'Storage is persistent: the browser will not evict the cache under pressure.');
    if (!navigator.storage?.persist) return h('p', { class: 'muted' }, 'The browser may evict the cache when space runs low.');
    return h(
      'p',
      {},
      'The browser may evict the cache when space runs low. ',
      h('button', { type: 'button', onclick: async () => (await navigator.storage.persist(), this.refresh()) }, 'Ask to keep it'),
    );
  }
}
