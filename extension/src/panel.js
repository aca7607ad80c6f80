// The side panel: "Summarize this page", "Ask about this page" and free chat with the local
// model. The engine is not here but in the offscreen document (engine-client.js), so closing the
// panel neither unloads the model nor stops a reply; this page keeps the conversation
// (conversation.js), reads the tab (page-reader.js) and fits both into the context (context.js).
import { EngineClient } from './engine-client.js';
import { Conversation } from './conversation.js';
import { readActiveTab } from './page-reader.js';
import { fitConversation, contextOverflow, SUMMARIZE_QUESTION } from './context.js';
import { loadSettings, onSettingsChanged } from './settings.js';
import { describeFit, showNotice, showStatus, showTurns } from './panel-view.js';

const $ = (id) => document.getElementById(id);
const input = $('input');

const client = new EngineClient();
let settings = await loadSettings();
let status = { state: 'starting' };
const conversation = await Conversation.open((await chrome.windows.getCurrent()).id);
/** The page "Ask about this page" attached to the next message. */
let attached = null;
/** What each running request was made from, to fit it again after a `context_full`. */
const requests = new Map();

function redraw() {
  showTurns(conversation.turns, settings.contextLength);
  const busy = Boolean(conversation.streaming);
  for (const id of ['summarize', 'ask', 'send']) $(id).disabled = busy || !settings.model;
  $('stop').hidden = !busy;
  $('send').hidden = busy;
}

// ---- the engine's messages -----------------------------------------------------------------

client.addEventListener('hello', ({ detail }) => {
  status = detail.status;
  showStatus(status, settings);
  // A reply that was being written while the panel was closed: take what the host has.
  const reply = conversation.streaming;
  if (reply) {
    const job = detail.jobs.find((j) => j.id === reply.jobId);
    if (!job) cutOff(reply, 'The reply was cut off: the engine restarted before it was finished. Send the message again to retry.');
    else {
      reply.text = job.text;
      if (job.finished) finish(reply, job.finished);
    }
    conversation.save();
  }
  redraw();
});

client.addEventListener('status', ({ detail }) => {
  status = detail.status;
  showStatus(status, settings);
});

client.addEventListener('delta', ({ detail }) => {
  const reply = conversation.streaming;
  if (reply?.jobId !== detail.id) return;
  reply.text += detail.text;
  conversation.save(true);
  redraw();
});

client.addEventListener('done', ({ detail }) => {
  const reply = conversation.streaming;
  if (reply?.jobId !== detail.id) return;
  finish(reply, detail);
});

client.addEventListener('failed', ({ detail }) => {
  const reply = conversation.streaming;
  if (reply?.jobId !== detail.id) return;
  const overflow = contextOverflow(detail.error);
  const request = requests.get(detail.id);
  requests.delete(detail.id);
  if (overflow && request && !request.retried) {
    // The estimate was short: fit again with the budget scaled by what the engine counted.
    const scale = (0.95 * (overflow.capacity - settings.maxTokens)) / overflow.needed;
    return void start(reply, request.user, { ...request, scale: Math.min(0.95, scale) * request.scale, retried: true });
  }
  finish(reply, { error: detail.error });
});

client.addEventListener('disconnect', () => {
  status = null;
  showStatus(status, settings);
  const reply = conversation.streaming;
  if (reply) cutOff(reply, 'The reply was cut off: the engine stopped (it was closed, or it crashed). Send the message again to retry.');
});

function finish(reply, result) {
  if (result.error) {
    const stopped = result.error.code === 'aborted';
    reply.state = stopped ? 'stopped' : 'failed';
    reply.note = stopped ? 'Stopped.' : `The reply failed (${result.error.code}): ${result.error.message}`;
  } else {
    reply.state = 'done';
    reply.usage = result.usage;
    reply.finish = result.finish_reason;
  }
  requests.delete(reply.jobId);
  conversation.save();
  redraw();
}

function cutOff(reply, note) {
  reply.state = 'cut';
  reply.note = note;
  conversation.save();
  redraw();
}

// ---- asking --------------------------------------------------------------------------------

/** Sends `text` (with `page`, if any) as the next user turn. */
async function ask(text, page) {
  if (conversation.streaming || !settings.model) return;
  showNotice('');
  const user = { role: 'user', text, page: page ?? undefined };
  const reply = { role: 'assistant', text: '', jobId: crypto.randomUUID(), state: 'streaming' };
  const request = { history: conversation.history(), scale: 1, retried: false };
  let fit;
  try {
    fit = fitConversation({ history: request.history, ask: user, contextLength: settings.contextLength, maxTokens: settings.maxTokens });
  } catch (e) {
    return showNotice(e.message);
  }
  conversation.add(user, reply);
  start(reply, user, request, fit);
}

/** Asks the engine for `reply`, fitting the conversation first unless `fit` is given. */
function start(reply, user, request, fit) {
  try {
    fit ??= fitConversation({ ...request, ask: user, contextLength: settings.contextLength, maxTokens: settings.maxTokens });
  } catch (e) {
    return finish(reply, { error: { code: 'context_full', message: e.message } });
  }
  user.fit = fit.page;
  user.earlierFit = fit.earlierPage;
  user.droppedTurns = fit.droppedTurns;
  if (request.retried) reply.jobId = crypto.randomUUID();
  requests.set(reply.jobId, { ...request, user });
  conversation.save();
  redraw();
  client
    .send({
      type: 'chat',
      id: reply.jobId,
      model: settings.model,
      contextLength: settings.contextLength,
      request: { messages: fit.messages, max_tokens: settings.maxTokens, temperature: settings.temperature },
    })
    .catch((e) => finish(reply, { error: { code: 'worker_failed', message: e.message } }));
}

/** The tab's text, or null after saying why it could not be read. */
async function readPage() {
  showNotice('Reading the page…', false);
  try {
    const page = await readActiveTab();
    showNotice('');
    return page;
  } catch (e) {
    showNotice(e.message);
    return null;
  }
}

function attach(page) {
  attached = page;
  $('attachment').hidden = !page;
  if (!page) return;
  $('attachment-title').textContent = page.title || page.url;
  const fit = fitConversation({
    history: conversation.history(),
    ask: { role: 'user', text: input.value, page },
    contextLength: settings.contextLength,
    maxTokens: settings.maxTokens,
  }).page;
  $('attachment-fit').textContent = describeFit(fit, settings.contextLength);
}

$('summarize').addEventListener('click', async () => {
  const page = await readPage();
  if (page) await ask(SUMMARIZE_QUESTION, page);
});

$('ask').addEventListener('click', async () => {
  const page = await readPage();
  if (!page) return;
  try {
    attach(page);
  } catch (e) {
    attach(null);
    return showNotice(e.message);
  }
  input.focus();
});

$('detach').addEventListener('click', () => attach(null));

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || conversation.streaming) return;
  input.value = '';
  const page = attached;
  attach(null);
  await ask(text, page);
});

input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});

$('stop').addEventListener('click', () => {
  const reply = conversation.streaming;
  if (reply) client.send({ type: 'stop', id: reply.jobId }).catch(() => cutOff(reply, 'Stopped.'));
});

$('new-chat').addEventListener('click', () => {
  const reply = conversation.streaming;
  if (reply) client.send({ type: 'stop', id: reply.jobId }).catch(() => {});
  conversation.clear();
  attach(null);
  showNotice('');
  redraw();
});

for (const id of ['options', 'choose-model']) $(id).addEventListener('click', () => chrome.runtime.openOptionsPage());

$('retry').addEventListener('click', () => loadModel());

// ---- settings and start --------------------------------------------------------------------

function loadModel() {
  if (settings.model) client.send({ type: 'load', model: settings.model, contextLength: settings.contextLength }).catch((e) => showNotice(e.message));
}

onSettingsChanged((next) => {
  const reload = JSON.stringify([next.model, next.contextLength]) !== JSON.stringify([settings.model, settings.contextLength]);
  settings = next;
  showStatus(status, settings);
  redraw();
  if (reload) loadModel();
});

showStatus(status, settings);
redraw();
// Starts the engine host (and the model's load, so that it is ready by the first question).
client.connect().then(loadModel, (e) => showNotice(`The engine could not start: ${e.message}`));
