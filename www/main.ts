// The brasa playground: a chat with a model on this device's GPU, through the npm package's public
// API only (createEngine → engine.load → engine.chat.completions.create, inspectModel,
// listCachedModels / deleteCachedModel, engine.gpuInfo). Each part of the page is a module in src/.
import * as brasa from '../pkg/index.js';
import type { Engine } from '../pkg/index.js';
import { CacheManager } from './src/cache-manager';
import { Chat } from './src/chat';
import { byId } from './src/dom';
import { errorText } from './src/format';
import { GpuPanel } from './src/gpu-panel';
import { History } from './src/history';
import { initDrawers, initTabs, openPanel } from './src/layout';
import { LoadProgress } from './src/load-progress';
import { ModelPicker } from './src/model-picker';
import { hasWebGpuApi, showNoWebGpu } from './src/no-webgpu';
import { SettingsPanel } from './src/settings';
import { StatsView } from './src/stats';
import { initTheme } from './src/theme';

/**
 * The engine in a Worker; in the page's thread when only the page has WebGPU (Firefox offers it
 * to Workers behind a pref). A page without navigator.gpu has none in a Worker either: the
 * in-thread engine then reports `webgpu_unavailable` without starting a Worker.
 */
async function startEngine(): Promise<Engine> {
  const attempts = hasWebGpuApi() ? [true, false] : [false];
  let failure: unknown;
  for (const worker of attempts) {
    try {
      return await brasa.createEngine({ worker });
    } catch (e: any) {
      if (e?.code !== 'webgpu_unavailable') throw e;
      failure = e;
    }
  }
  throw failure;
}

async function main(): Promise<void> {
  initTheme();
  let engine: Engine;
  try {
    engine = await startEngine();
  } catch (e: any) {
    if (e?.code === 'webgpu_unavailable') return showNoWebGpu(e.message);
    throw e;
  }

  const stats = new StatsView();
  const progress = new LoadProgress();
  const gpu = new GpuPanel(engine, byId('tab-gpu'));
  const settings = new SettingsPanel(byId('tab-settings'), () => contextChanged());
  await settings.init();
  const picker = new ModelPicker(engine, settings, progress, byId('tab-model'));
  const cache = new CacheManager(byId('tab-cache'), (url) => void picker.loadUrl(url));
  const chat = new Chat(engine, picker, settings, stats);
  const closeDrawer = initDrawers();
  // On a phone the conversation list is a drawer over the chat: picking one closes it.
  const history = new History((c) => (chat.open(c), closeDrawer()), () => chat.conversation.id);
  chat.addEventListener('saved', () => void history.refresh());

  const showTab = initTabs((tab) => {
    if (tab === 'gpu') void gpu.refresh();
    if (tab === 'cache') void cache.refresh();
  });
  byId('open-model').addEventListener('click', () => (showTab('model'), openPanel()));

  const badge = byId('model-badge');
  picker.addEventListener('change', () => {
    badge.dataset.state = picker.state;
    badge.textContent =
      picker.state === 'ready' ? (picker.loaded!.summary.name || picker.loaded!.summary.id) : picker.state === 'loading' ? 'loading…' : 'no model';
    stats.setModel(picker.loaded);
    if (picker.state === 'loading') {
      chat.stop();
      closeDrawer(); // the progress strip is above the chat
    }
    if (picker.state === 'ready') void cache.refresh();
  });

  /** A new context length applies at the next load: offer to load the model again now. */
  function contextChanged(): void {
    if (picker.state !== 'ready') return;
    progress.finish(`Context length ${settings.values.contextLength}: it applies when the model loads again.`, 'info', {
      label: 'Load again now',
      run: () => void picker.reload(),
    });
  }

  // Escape stops a reply; otherwise it closes an open drawer.
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape') return;
    if (chat.busy) chat.stop();
    else closeDrawer();
  });

  picker.acceptDrops(document.body, byId('drop-overlay'));
  await history.init();
  await picker.init();
  void gpu.refresh();
  registerServiceWorker();
}

/**
 * The built site keeps its own files for offline use (www/sw.js; network first, so a new
 * version is picked up at once). Not in development: it would get in the way of Vite's reloads.
 */
function registerServiceWorker(): void {
  if (import.meta.env.PROD && 'serviceWorker' in navigator) {
    navigator.serviceWorker.register('./sw.js').catch((e) => console.warn(`service worker: ${errorText(e)}`));
  }
}

main().catch((e) => {
  console.error(e);
  const status = byId('load-status');
  status.hidden = false;
  status.dataset.state = 'error';
  byId('load-text').textContent = `The playground failed to start: ${errorText(e)}`;
});
