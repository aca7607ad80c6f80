// The side panel's GPU tab: the adapter brasa runs on, the features it enabled, the limits it
// uses and the kernel variants it chose (engine.gpuInfo()).
import type { Engine, GpuInfo } from '../../pkg/index.js';
import { facts, h } from './dom';
import { bytes, count, errorText } from './format';

/** The limits brasa reads, in words (the WebGPU name is the row's tooltip); `bytes`: shown in bytes. */
const LIMITS: Record<string, { label: string; bytes: boolean }> = {
  maxStorageBufferBindingSize: { label: 'Storage buffer binding', bytes: true },
  maxBufferSize: { label: 'Buffer size', bytes: true },
  maxComputeWorkgroupStorageSize: { label: 'Workgroup memory', bytes: true },
  maxComputeInvocationsPerWorkgroup: { label: 'Invocations per workgroup', bytes: false },
  maxComputeWorkgroupsPerDimension: { label: 'Workgroups per dimension', bytes: false },
};

export class GpuPanel {
  #engine: Engine;
  #root: HTMLElement;

  constructor(engine: Engine, root: HTMLElement) {
    this.#engine = engine;
    this.#root = root;
  }

  /** Asks the engine again (after a lost device the engine is on a new one). */
  async refresh(): Promise<GpuInfo | null> {
    try {
      const info = await this.#engine.gpuInfo();
      this.#render(info);
      return info;
    } catch (e) {
      this.#root.replaceChildren(h('p', { class: 'error' }, errorText(e)));
      return null;
    }
  }

  #render(g: GpuInfo): void {
    const b = g.browserAdapter;
    const adapter = b ? [b.vendor, b.architecture, b.device, b.description].filter(Boolean).join(' · ') : '';
    const limits = Object.entries(g.limits).map(([name, value]): [HTMLElement, string] => {
      const known = LIMITS[name];
      return [h('span', { title: name }, known?.label ?? name), known?.bytes ? `${bytes(value)} (${count(value)} B)` : count(value)];
    });
    this.#root.replaceChildren(
      h('section', {}, h('h2', {}, 'Adapter'), facts([
        ['Browser reports', adapter || '(nothing)'],
        ['wgpu adapter', [g.adapter.name, g.adapter.driver].filter(Boolean).join(' · ') || '(not named on the web)'],
        ['Backend', g.backend],
      ])),
      h('section', {}, h('h2', {}, 'Kernel variants'), facts([
        ['Reductions', g.variants.reduction === 'subgroup' ? 'subgroup operations' : 'workgroup memory (no subgroups)'],
        ['Half precision (shader-f16)', g.variants.f16 ? 'on' : 'off (not offered)'],
        ['Prefill mat-mul tiles', g.variants.matmul === 'workgroup' ? 'workgroup memory' : 'registers (CPU emulator)'],
        ['Largest weight buffer', `${bytes(g.maxWeightPartBytes)} (bigger tensors are split by rows)`],
      ])),
      h('section', {}, h('h2', {}, 'Features enabled'),
        g.features.length ? h('ul', { class: 'chips', id: 'gpu-features' }, ...g.features.map((f) => h('li', {}, f))) : h('p', { class: 'muted' }, 'none'),
      ),
      h('section', {}, h('h2', {}, 'Limits used'), facts(limits)),
      h('section', {}, h('h2', {}, 'Summary'), h('p', { class: 'mono small' }, g.description)),
      h('button', { type: 'button', class: 'ghost', onclick: () => void this.refresh() }, 'Refresh'),
    );
  }
}
