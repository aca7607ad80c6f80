// The page shown instead of the playground when this browser cannot run WebGPU (the engine
// rejected with `webgpu_unavailable`): what is missing and which browsers and flags have it.
import { byId, h } from './dom';

/** Whether the page has the WebGPU API at all (it may still give no adapter). */
export function hasWebGpuApi(): boolean {
  return Boolean((navigator as Navigator & { gpu?: unknown }).gpu);
}

export function showNoWebGpu(message: string): void {
  const hasApi = hasWebGpuApi();
  const why = !isSecureContext
    ? 'This page is not in a secure context: WebGPU needs HTTPS (or http://localhost).'
    : hasApi
      ? 'The browser has the WebGPU API but gave no GPU adapter: WebGPU may be switched off, or the GPU or its driver blocklisted.'
      : 'This browser does not offer WebGPU (navigator.gpu is missing).';
  byId('app').hidden = true;
  const page = byId('no-webgpu');
  page.hidden = false;
  page.replaceChildren(
    h('h1', {}, 'This browser cannot run the playground: no WebGPU'),
    h('p', { class: 'lead' }, why),
    h('p', { class: 'muted', id: 'no-webgpu-message' }, message),
    h('h2', {}, 'Browsers with WebGPU'),
    h(
      'ul',
      {},
      h('li', {}, h('strong', {}, 'Chrome, Edge'), ' 113 or newer on Windows, macOS and ChromeOS; Chrome 121+ on Android 12+. On Linux, turn on ', h('code', {}, 'chrome://flags/#enable-unsafe-webgpu'), ' (and ', h('code', {}, '#enable-vulkan'), ') if WebGPU is still off.'),
      h('li', {}, h('strong', {}, 'Safari'), ' 26 on macOS, iOS and iPadOS (earlier versions: Develop → Feature Flags → WebGPU).'),
      h('li', {}, h('strong', {}, 'Firefox'), ' 141 or newer on Windows. Elsewhere set ', h('code', {}, 'dom.webgpu.enabled'), ' to true in ', h('code', {}, 'about:config'), ' (Firefox Nightly has it on).'),
    ),
    h('p', {}, 'If your browser is on this list, check that hardware acceleration is on (in Chrome, ', h('code', {}, 'chrome://gpu'), ' shows the WebGPU status), then reload.'),
    h('p', {}, h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, 'Reload')),
  );
  document.title = 'brasa playground: no WebGPU';
}
