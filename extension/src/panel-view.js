// How the side panel shows things: the engine's status line, the turns of the conversation and
// what is said about a page's fit in the context. Text only goes in through textContent: nothing
// from a page or the model is ever parsed as HTML.

const $ = (id) => document.getElementById(id);
const number = new Intl.NumberFormat('en');

/** Bytes as "253 MB". */
export function formatBytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${Math.round(n / 1e6)} MB`;
  return `${Math.max(1, Math.round(n / 1e3))} kB`;
}

/**
 * The engine's status line and the progress bar.
 * @param {import('./protocol.js').Status | null} status null: not connected
 * @param {import('./settings.js').Settings} settings
 */
export function showStatus(status, settings) {
  const line = $('engine');
  const progress = $('progress');
  line.className = 'engine';
  line.title = '';
  progress.hidden = true;
  showProblem('');
  $('setup').hidden = Boolean(settings.model);
  if (!settings.model) {
    line.textContent = 'No model chosen';
    return;
  }
  if (!status) {
    line.textContent = 'Engine stopped';
    showProblem('The engine was stopped. It starts again with your next message.', 'Start');
    return;
  }
  switch (status.state) {
    case 'starting':
      line.textContent = 'Starting the engine…';
      break;
    case 'idle':
      line.textContent = 'Engine ready; no model loaded yet';
      break;
    case 'loading': {
      const p = status.progress;
      const verb = { download: 'Downloading', cache: 'Loading', read: 'Reading', compile: 'Preparing the GPU for' }[p?.phase] ?? 'Loading';
      const share = p?.total ? ` ${Math.floor((100 * p.done) / p.total)}% of ${formatBytes(p.total)}` : '';
      const rate = p?.bytesPerSecond && p.phase === 'download' ? ` · ${formatBytes(p.bytesPerSecond)}/s` : '';
      line.textContent = `${verb} ${status.label}…${share}${rate}`;
      progress.hidden = false;
      if (p?.total) progress.value = p.done / p.total;
      else progress.removeAttribute('value');
      break;
    }
    case 'ready':
      // Short: the panel can be 320 px wide. The details are in the tooltip.
      line.textContent = `${status.model?.name || status.label} · ${contextLabel(status.contextLength)} context`;
      line.title = `${status.label}: ${number.format(status.contextLength)}-token context${status.gpu ? `, on ${status.gpu}` : ''}`;
      line.classList.add('ready');
      break;
    case 'error': {
      const noGpu = status.error?.code === 'webgpu_unavailable';
      line.textContent = noGpu ? 'No WebGPU' : 'The model did not load';
      line.classList.add('error');
      const hint = status.error?.code === 'network' ? ' Check the model URL in the options: its server must allow cross-origin requests (Hugging Face does).' : '';
      showProblem(`${String(status.error?.message).replace(/\.$/, '')}.${hint}`, noGpu ? '' : 'Retry');
      break;
    }
  }
  line.title ||= line.textContent;
}

/** 4096 as "4K" (tokens). */
function contextLabel(n) {
  return n % 1024 === 0 ? `${n / 1024}K` : number.format(n);
}

/** The row under the header that explains a failure, with a button to try again ('' hides it). */
function showProblem(text, button = '') {
  $('problem').hidden = !text;
  $('problem-text').textContent = text.charAt(0).toUpperCase() + text.slice(1);
  $('retry').hidden = !button;
  $('retry').textContent = button;
}

/**
 * What part of a page goes to the model, in words.
 * @param {import('./context.js').PageFit | null | undefined} fit
 * @param {number} contextLength
 */
export function describeFit(fit, contextLength) {
  if (!fit) return '';
  if (fit.keptChars >= fit.totalChars) return `Whole page sent (${number.format(fit.totalChars)} characters).`;
  const share = Math.max(1, Math.floor((100 * fit.keptChars) / fit.totalChars));
  return (
    `Trimmed to fit the ${number.format(contextLength)}-token context: the first ${number.format(fit.keptChars)} of ` +
    `${number.format(fit.totalChars)} characters (${share}%) are sent.`
  );
}

/**
 * Redraws the conversation.
 * @param {Array<import('./conversation.js').UserTurn | import('./conversation.js').ReplyTurn>} turns
 * @param {number} contextLength
 */
export function showTurns(turns, contextLength) {
  const list = $('transcript');
  list.replaceChildren(...turns.map((turn) => turnElement(turn, contextLength)));
  $('empty').hidden = turns.length > 0;
  list.scrollTop = list.scrollHeight;
}

function turnElement(turn, contextLength) {
  const el = document.createElement('article');
  el.className = `turn ${turn.role}`;
  if (turn.role === 'user' && turn.page) {
    const chip = element('div', 'page', turn.page.title || turn.page.url);
    chip.title = turn.page.url;
    el.append(chip);
  }
  const body = element('div', 'text', turn.text);
  if (turn.role === 'assistant' && turn.state === 'streaming') body.classList.add('streaming');
  el.append(body);
  const notes = [];
  if (turn.role === 'user') {
    notes.push(describeFit(turn.fit, contextLength));
    // A follow-up after the page was cut again to make room for the conversation.
    const earlier = turn.earlierFit;
    if (earlier && earlier.keptChars < earlier.totalChars) notes.push(`The page asked about earlier: ${describeFit(earlier, contextLength)}`);
    if (turn.droppedTurns) notes.push(`${turn.droppedTurns / 2} earlier exchange(s) left out to fit the context.`);
  } else {
    if (turn.note) notes.push(turn.note);
    if (turn.state === 'done' && turn.usage) notes.push(usageLine(turn));
  }
  for (const note of notes.filter(Boolean)) el.append(element('div', turn.state === 'failed' || turn.state === 'cut' ? 'note bad' : 'note', note));
  return el;
}

function usageLine(turn) {
  const u = turn.usage;
  const rate = u.timings?.decode_tokens_per_s ? ` · ${u.timings.decode_tokens_per_s.toFixed(1)} tokens/s` : '';
  const cut = turn.finish === 'length' ? ' · stopped at the reply length limit' : '';
  return `${u.completion_tokens} tokens${rate}${cut}`;
}

function element(tag, className, text) {
  const el = document.createElement(tag);
  el.className = className;
  el.textContent = text;
  return el;
}

/** A message under the conversation (errors reading the page, a context too small …); '' hides it. */
export function showNotice(text, bad = true) {
  const notice = $('notice');
  notice.textContent = text;
  notice.hidden = !text;
  notice.classList.toggle('bad', bad);
}
