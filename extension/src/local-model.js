// A model file chosen from the user's disk, kept in the extension's Origin Private File System:
// a picked File lives only as long as the page that picked it, so the options page copies it
// (streamed, never whole in memory) and the engine host reads it back as a disk-backed File on
// every later start. One local model is kept at a time; choosing another replaces it.

const DIR = 'models';

async function modelsDir() {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DIR, { create: true });
}

/**
 * Copies `file` into the extension's storage, replacing any earlier local model.
 * @param {File} file
 * @param {(done: number, total: number) => void} [onProgress]
 * @returns {Promise<{ name: string, size: number }>}
 */
export async function saveLocalModel(file, onProgress) {
  const dir = await modelsDir();
  for await (const name of dir.keys()) if (name !== file.name) await dir.removeEntry(name);
  const handle = await dir.getFileHandle(file.name, { create: true });
  const writable = await handle.createWritable();
  let done = 0;
  const count = new TransformStream({
    transform(chunk, controller) {
      done += chunk.byteLength;
      onProgress?.(done, file.size);
      controller.enqueue(chunk);
    },
  });
  // pipeTo closes the writable (committing the file) at the end, or aborts it on failure.
  await file.stream().pipeThrough(count).pipeTo(writable);
  return { name: file.name, size: file.size };
}

/**
 * The stored local model `name`, as a File the engine streams from disk.
 * @param {string} name
 * @returns {Promise<File>}
 */
export async function readLocalModel(name) {
  const dir = await modelsDir();
  try {
    return await (await dir.getFileHandle(name)).getFile();
  } catch {
    const error = new Error(`the local model ${name} is no longer in the extension's storage: choose it again in the options`);
    error.code = 'network';
    throw error;
  }
}

/** @returns {Promise<Array<{ name: string, bytes: number }>>} */
export async function listLocalModels() {
  const dir = await modelsDir();
  const out = [];
  for await (const [name, handle] of dir.entries()) out.push({ name, bytes: (await handle.getFile()).size });
  return out;
}

/** @param {string} name */
export async function deleteLocalModel(name) {
  const dir = await modelsDir();
  await dir.removeEntry(name).catch(() => {});
}
