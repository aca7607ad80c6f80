// The user's settings, kept in chrome.storage.local (this profile only, never synced): which
// model to run and how much the engine may hold and write. The options page writes them; the
// panel reads them and passes the model's part to the engine host with each request (the
// offscreen document can use no extension API but chrome.runtime).

/**
 * @typedef {{ kind: 'url', url: string } | { kind: 'file', name: string, size: number }} ModelChoice
 *   `file`: a local file the options page copied into the extension's private storage (OPFS)
 * @typedef {{ model: ModelChoice | null, contextLength: number, maxTokens: number, temperature: number }} Settings
 */

/** @type {Settings} */
export const DEFAULTS = Object.freeze({
  model: null,
  // K/V cache size: 4096 tokens of gemma-3-270m take 150 MB of GPU memory.
  contextLength: 4096,
  maxTokens: 384,
  // A small model wanders at OpenAI's default of 1.
  temperature: 0.3,
});

/** Bounds the options page enforces (and the panel trusts). */
export const LIMITS = Object.freeze({
  contextLength: [256, 131072],
  maxTokens: [16, 4096],
  temperature: [0, 2],
});

/** @returns {Promise<Settings>} */
export async function loadSettings() {
  const { settings } = await chrome.storage.local.get('settings');
  return { ...DEFAULTS, ...settings };
}

/** @param {Partial<Settings>} patch @returns {Promise<Settings>} */
export async function saveSettings(patch) {
  const next = { ...(await loadSettings()), ...patch };
  await chrome.storage.local.set({ settings: next });
  return next;
}

/** Calls `listener(settings)` whenever another page saves the settings. */
export function onSettingsChanged(listener) {
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes.settings) listener({ ...DEFAULTS, ...changes.settings.newValue });
  });
}

/**
 * Why `url` cannot be a model URL, or null when it can. HTTPS anywhere, plain HTTP only on this
 * machine (the extension's connect-src allows nothing else).
 * @param {string} url
 * @returns {string | null}
 */
export function modelUrlProblem(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && ['localhost', '127.0.0.1'].includes(u.hostname)) return null;
  return 'use an https:// URL (plain http:// only for localhost)';
}

/** A short name for the chosen model, for the panel's status line. */
export function modelLabel(model) {
  if (!model) return 'no model';
  if (model.kind === 'file') return model.name;
  const u = new URL(model.url);
  return decodeURIComponent(u.pathname.split('/').pop() || u.host);
}
