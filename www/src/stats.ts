// The live stats strip under the conversation: time to first token, prefill and decode speed,
// context used and the GPU memory plan. While a reply streams, the figures are the page's own
// (measured from the chunks as they arrive); when it ends, the engine's `usage` replaces them.
import { byId, h } from './dom';
import { bytes, count, ms, rate, tokens } from './format';
import type { LoadedModel } from './model-picker';
import type { ReplyStats } from './storage';

type Key = 'ttft' | 'prefill' | 'decode' | 'tokens' | 'context' | 'memory';

const LABELS: Record<Key, string> = {
  ttft: 'First token',
  prefill: 'Prefill',
  decode: 'Decode',
  tokens: 'Reply',
  context: 'Context',
  memory: 'GPU memory',
};

const TITLES: Record<Key, string> = {
  ttft: 'Time from sending to the first token of the reply',
  prefill: 'Prompt tokens evaluated per second (tokens reused from the previous turn are not counted)',
  decode: 'Reply tokens generated per second',
  tokens: 'Tokens in the reply and why it ended',
  context: 'Tokens in the K/V cache after the last reply, of the context length',
  memory: "The model's GPU memory plan from its header: weights + K/V cache + scratch (what brasa allocates; the browser does not report GPU memory use)",
};

export class StatsView {
  #root = byId('stats');
  #cells = new Map<Key, HTMLElement>();
  #meter = h('meter', { id: 'context-meter', min: 0, max: 1, value: 0 });
  #start = 0;
  #first = 0;
  #chunks = 0;
  #timer = 0;
  #model: LoadedModel | null = null;
  #used = 0;

  constructor() {
    for (const key of Object.keys(LABELS) as Key[]) {
      const value = h('span', { class: 'value', 'data-stat': key }, '–');
      this.#cells.set(key, value);
      const extra = key === 'context' ? this.#meter : null;
      this.#root.append(h('div', { class: 'stat', title: TITLES[key] }, h('span', { class: 'label' }, LABELS[key]), value, extra));
    }
  }

  /** A model loaded (or none): the memory figure and the context length. */
  setModel(model: LoadedModel | null): void {
    this.#model = model;
    const plan = model?.plan;
    this.#set(
      'memory',
      !model ? '–' : plan ? `${bytes(plan.totalBytes)} plan` : `${bytes(model.summary.weightBytes)} weights`,
    );
    this.#context(this.#used);
  }

  /** A reply starts now. */
  begin(): void {
    clearInterval(this.#timer);
    this.#start = performance.now();
    this.#first = 0;
    this.#chunks = 0;
    for (const k of ['ttft', 'prefill', 'decode', 'tokens'] as Key[]) this.#set(k, '…');
    this.#root.dataset.live = 'true';
    // Ticks while waiting for the first token, so the wait is visible.
    this.#timer = window.setInterval(() => {
      if (!this.#first) this.#set('ttft', `${((performance.now() - this.#start) / 1000).toFixed(1)} s…`);
    }, 100);
  }

  /** A chunk of the reply arrived (about one token). */
  chunk(): void {
    const now = performance.now();
    this.#chunks += 1;
    if (!this.#first) {
      this.#first = now;
      this.#set('ttft', ms(now - this.#start));
    } else {
      this.#set('decode', `${rate((this.#chunks - 1) / ((now - this.#first) / 1000))} (live)`);
    }
    this.#set('tokens', `${tokens(this.#chunks)}…`);
  }

  /** The reply ended: the engine's figures (or, stopped, what the page measured). */
  finish(stats: ReplyStats | null): void {
    clearInterval(this.#timer);
    delete this.#root.dataset.live;
    if (!stats) {
      this.#set('tokens', `${tokens(this.#chunks)}, stopped`);
      if (!this.#first) this.#set('ttft', '–');
      if (this.#chunks < 2) this.#set('decode', '–');
      this.#set('prefill', '–');
      this.#context(NaN); // the engine keeps part of the stopped reply: not known here
      return;
    }
    this.show(stats);
  }

  /** Shows a finished reply's figures (also for the last reply of a conversation opened later). */
  show(s: ReplyStats | null): void {
    if (!s) {
      for (const k of ['ttft', 'prefill', 'decode', 'tokens'] as Key[]) this.#set(k, '–');
      this.#context(0);
      return;
    }
    this.#set('ttft', ms(s.ttftMs));
    const evaluated = s.promptTokens - s.cachedTokens;
    this.#set('prefill', `${rate(s.prefillTokS)} · ${tokens(evaluated)}${s.cachedTokens ? ` (+${count(s.cachedTokens)} reused)` : ''}`);
    // One token has no decode step to time.
    this.#set('decode', s.completionTokens > 1 ? rate(s.decodeTokS) : '–');
    this.#set('tokens', `${tokens(s.completionTokens)} · ${s.finish === 'length' ? 'hit max tokens' : 'finished'}`);
    this.#context(s.promptTokens + s.completionTokens);
  }

  #context(used: number): void {
    this.#used = used;
    const length = this.#model?.contextLength ?? 0;
    this.#set('context', length ? `${Number.isNaN(used) ? '–' : count(used)} / ${count(length)}` : '–');
    this.#meter.value = length && !Number.isNaN(used) ? used / length : 0;
  }

  #set(key: Key, text: string): void {
    this.#cells.get(key)!.textContent = text;
  }
}
