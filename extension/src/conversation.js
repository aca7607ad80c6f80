// The side panel's conversation: its turns, kept in chrome.storage.session (in memory, cleared
// when the browser closes) per window, so that a closed and reopened panel shows it again and
// can pick up a reply that was still being written.

/** Longest page text kept with a turn (longer pages could never fit a context anyway). */
const MAX_PAGE_CHARS = 200_000;
/** While a reply streams, the turns are written at most this often. */
const SAVE_MS = 500;

/**
 * @typedef {import('./context.js').Page} Page
 * @typedef {import('./context.js').PageFit} PageFit
 * @typedef {{ role: 'user', text: string, page?: Page, fit?: PageFit | null, earlierFit?: PageFit | null,
 *   droppedTurns?: number }} UserTurn
 * @typedef {{ role: 'assistant', text: string, jobId: string, state: 'streaming' | 'done' | 'stopped' | 'failed' | 'cut',
 *   note?: string, usage?: object, finish?: string }} ReplyTurn
 */

export class Conversation {
  /** @type {Array<UserTurn | ReplyTurn>} user and reply turns, alternating */
  turns = [];
  #key;
  #timer = null;

  constructor(key) {
    this.#key = key;
  }

  /** The conversation of this window's panel, as last saved. */
  static async open(windowId) {
    const conversation = new Conversation(`conversation:${windowId}`);
    const saved = (await chrome.storage.session.get(conversation.#key))[conversation.#key];
    if (Array.isArray(saved)) conversation.turns = saved;
    return conversation;
  }

  /** The reply being written, if any. */
  get streaming() {
    const last = this.turns.at(-1);
    return last?.role === 'assistant' && last.state === 'streaming' ? last : null;
  }

  /** Earlier turns for the next request: whole pairs whose reply has text. */
  history() {
    const out = [];
    for (let i = 0; i + 1 < this.turns.length; i += 2) {
      const [user, reply] = [this.turns[i], this.turns[i + 1]];
      if (reply.text.trim() && reply.state !== 'streaming') out.push(user, { role: 'assistant', text: reply.text });
    }
    return out;
  }

  /** @param {UserTurn} user @param {ReplyTurn} reply */
  add(user, reply) {
    if (user.page) user.page = { ...user.page, text: user.page.text.slice(0, MAX_PAGE_CHARS) };
    this.turns.push(user, reply);
    this.save();
  }

  clear() {
    this.turns = [];
    this.save();
  }

  /** Writes the turns now, or (`soon`) within SAVE_MS, coalescing the writes of a stream. */
  save(soon = false) {
    if (soon) {
      this.#timer ??= setTimeout(() => this.save(), SAVE_MS);
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = null;
    chrome.storage.session.set({ [this.#key]: this.turns }).catch((e) => console.warn('brasa: the conversation was not saved:', e.message));
  }
}
