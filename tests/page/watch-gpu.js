// Loaded into a test page (served at /tests/page/watch-gpu.js): counts this page's live GPU
// buffers and devices as WebGPU itself sees them, not as brasa reports them. Every buffer created
// and not yet destroyed counts, with its bytes; a buffer dropped without destroy() counts until
// the garbage collector finds it, if ever, which is the leak this looks for. A device counts until
// it is lost (destroyed). Call before the engine is made.

/** @returns {{ buffers: () => number, bytes: () => number, devices: () => number }} */
export function watchGpu() {
  const devices = new Set();
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (desc) {
    const device = await requestDevice.call(this, desc);
    devices.add(device);
    device.lost.then(() => devices.delete(device));
    return device;
  };
  const live = new Map();
  const createBuffer = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (desc) {
    const buffer = createBuffer.call(this, desc);
    live.set(buffer, desc.size);
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function () {
    live.delete(this);
    return destroy.call(this);
  };
  return {
    buffers: () => live.size,
    bytes: () => [...live.values()].reduce((a, b) => a + b, 0),
    devices: () => devices.size,
  };
}
