// The options page: which model to run (a URL, or a local file copied into the extension's
// storage) and the generation settings; "Save" also loads the model in the engine host, so that a
// wrong URL or a model brasa cannot run is reported here, with the download's progress. Lists the
// models brasa stores (the package's Cache Storage cache and the local copy) with their sizes.
import { listCachedModels, deleteCachedModel } from 'brasa';
import { EngineClient, closeOffscreen } from './engine-client.js';
import { saveLocalModel, listLocalModels, deleteLocalModel } from './local-model.js';
import { LIMITS, loadSettings, modelUrlProblem, saveSettings } from './settings.js';
import { formatBytes } from './panel-view.js';

const $ = (id) => document.getElementById(id);
const form = $('settings');
const result = $('result');
const progress = $('progress');

let settings = await loadSettings();
let client = null;

function say(text, bad = false) {
  result.textContent = text;
  result.className = bad ? 'bad' : '';
}

function fill() {
  const kind = settings.model?.kind ?? 'url';
  form.elements.kind.value = kind;
  $('url').value = settings.model?.kind === 'url' ? settings.model.url : '';
  $('stored-file').textContent = settings.model?.kind === 'file' ? `In use: ${settings.model.name} (${formatBytes(settings.model.size)}), copied into brasa's storage.` : '';
  $('context-length').value = settings.contextLength;
  $('max-tokens').value = settings.maxTokens;
  $('temperature').value = settings.temperature;
  for (const [id, key] of [['context-length', 'contextLength'], ['max-tokens', 'maxTokens'], ['temperature', 'temperature']]) {
    [$(id).min, $(id).max] = LIMITS[key];
  }
}

/** The model the form names, copying a newly picked file first; null after saying what is wrong. */
async function chosenModel() {
  if (form.elements.kind.value === 'url') {
    const url = $('url').value.trim();
    const problem = modelUrlProblem(url);
    if (problem) return say(`The model URL: ${problem}.`, true), null;
    return { kind: 'url', url };
  }
  const file = $('file').files[0];
  if (!file) {
    if (settings.model?.kind === 'file') return settings.model;
    return say('Pick a .gguf file first.', true), null;
  }
  progress.hidden = false;
  const stored = await saveLocalModel(file, (done, total) => {
    progress.value = done / total;
    say(`Copying ${file.name} into brasa's storage… ${Math.floor((100 * done) / total)}%`);
  });
  return { kind: 'file', ...stored };
}

// Using one of the two inputs chooses it.
$('url').addEventListener('input', () => (form.elements.kind.value = 'url'));
$('file').addEventListener('change', () => (form.elements.kind.value = 'file'));

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  $('save').disabled = true;
  try {
    const model = await chosenModel();
    if (!model) return;
    settings = await saveSettings({
      model,
      contextLength: Number($('context-length').value),
      maxTokens: Number($('max-tokens').value),
      temperature: Number($('temperature').value),
    });
    fill();
    say('Saved. Loading the model…');
    await loadNow();
  } catch (e) {
    say(e.message, true);
  } finally {
    $('save').disabled = false;
  }
});

/** Asks the engine host to load the saved model and follows its status until it is ready or fails. */
async function loadNow() {
  if (!client) {
    client = new EngineClient();
    client.addEventListener('status', ({ detail }) => showLoad(detail.status));
    client.addEventListener('disconnect', () => (client = null));
  }
  await client.connect();
  await client.send({ type: 'load', model: settings.model, contextLength: settings.contextLength });
}

function showLoad(status) {
  progress.hidden = status.state !== 'loading';
  if (status.state === 'loading' && status.progress?.total) {
    progress.value = status.progress.done / status.progress.total;
    say(`Loading ${status.label}: ${formatBytes(status.progress.done)} of ${formatBytes(status.progress.total)} (${status.progress.phase})`);
  } else if (status.state === 'ready') {
    say(`Ready: ${status.model?.name || status.label} (${status.model?.architecture}, ${formatBytes(status.model?.bytes ?? 0)}). Open the side panel to use it.`);
    listStored();
  } else if (status.state === 'error') {
    say(`The model did not load (${status.error?.code}): ${status.error?.message}`, true);
  }
}

async function listStored() {
  const items = [
    ...(await listCachedModels()).map((m) => ({ label: m.url, bytes: m.bytes, remove: () => deleteCachedModel(m.url) })),
    ...(await listLocalModels()).map((m) => ({ label: `${m.name} (local file)`, bytes: m.bytes, remove: () => deleteLocalModel(m.name) })),
  ];
  const list = $('stored');
  if (!items.length) {
    const empty = document.createElement('li');
    empty.textContent = 'None yet.';
    return list.replaceChildren(empty);
  }
  list.replaceChildren(
    ...items.map((item) => {
      const li = document.createElement('li');
      li.textContent = `${item.label} — ${formatBytes(item.bytes)}`;
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Delete';
      button.addEventListener('click', async () => {
        await item.remove();
        listStored();
      });
      li.append(button);
      return li;
    }),
  );
}

$('stop-engine').addEventListener('click', async () => {
  await closeOffscreen();
  say('The engine was stopped; it starts again when the side panel needs it.');
});

fill();
listStored();
