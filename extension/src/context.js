// What the model is sent: the conversation and the page's text, fitted into the model's context.
// The engine does not expose its tokenizer, so token counts are estimated from above (an estimate
// that is too high only trims a little more than needed). When the estimate is still short, the
// engine's `context_full` error says how many tokens the prompt needed; the panel then fits again
// with `scale` (see fitConversation). Pure functions: node tests import this module directly.

/**
 * Tokens a text may take, counted from above for SentencePiece/BPE vocabularies. English words
 * run 4–5 characters per token, so ASCII letters, and a space before a letter (it merges into
 * the word's token), count a third of a token each. Every other ASCII character (digits: gemma
 * and llama split numbers into single digits; punctuation; other white space) counts one token,
 * and so does a non-ASCII character, except those a vocabulary seldom holds (combining marks,
 * invisible format characters, odd spaces, characters outside the BMP such as emoji), which cost
 * their UTF-8 bytes (byte fallback). Against llama.cpp's gemma-3 token ids (tests/reference) this
 * is 1.8× the real count on English prose, 1.3× on Chinese, 2.1× on code and never below it.
 * @param {string} text
 * @returns {number}
 */
export function estimateTokens(text) {
  return tokenCounter().addAll(text).tokens;
}

/** Characters a vocabulary seldom has a token for: they fall back to one token per byte. */
const BYTE_FALLBACK = /[\p{Mn}\p{Me}\p{Cf}\p{Zs}\p{Co}\p{Cn}]/u;

const isLetter = (c) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

/** A running estimate: `add(text, i)` counts the character at `i` and returns how many code units it spans. */
function tokenCounter() {
  let cheap = 0;
  let dear = 0;
  const counter = {
    get tokens() {
      return Math.ceil(cheap / 3) + dear;
    },
    add(text, i) {
      const c = text.charCodeAt(i);
      if (isLetter(c) || (c === 32 && isLetter(text.charCodeAt(i + 1)))) cheap++;
      else if (c < 128) dear++;
      else {
        const cp = text.codePointAt(i);
        if (cp > 0xffff) {
          dear += 4;
          return 2;
        }
        dear += BYTE_FALLBACK.test(text[i]) ? (cp < 0x800 ? 2 : 3) : 1;
      }
      return 1;
    },
    addAll(text) {
      for (let i = 0; i < text.length; ) i += counter.add(text, i);
      return counter;
    },
  };
  return counter;
}

/**
 * The longest start of `text` whose estimate is at most `maxTokens`, ended at a paragraph,
 * sentence or word boundary when one is near the limit.
 * @param {string} text
 * @param {number} maxTokens
 * @returns {{ text: string, trimmed: boolean }}
 */
export function cutToTokens(text, maxTokens) {
  if (estimateTokens(text) <= maxTokens) return { text, trimmed: false };
  // One pass: the first index at which the running estimate would exceed the budget.
  const counter = tokenCounter();
  let end = 0;
  while (end < text.length) {
    const step = counter.add(text, end);
    if (counter.tokens > maxTokens) break;
    end += step;
  }
  const head = text.slice(0, end);
  // Prefer a clean boundary within the last fifth of what fits.
  const floor = Math.floor(end * 0.8);
  for (const boundary of ['\n\n', '. ', '\n', ' ']) {
    const at = head.lastIndexOf(boundary);
    if (at >= floor) return { text: head.slice(0, at + (boundary === '. ' ? 1 : 0)).trimEnd(), trimmed: true };
  }
  return { text: head, trimmed: true };
}

/** Template tokens around each message (turn markers, role, newlines), counted from above. */
export const MESSAGE_OVERHEAD = 8;
/** Tokens kept free besides the reply: BOS and the assistant turn's opening. */
const SAFETY = 16;
/** A page cut below this many tokens is not worth sending: the context is too small. */
const MIN_PAGE_TOKENS = 48;
/** Of the room left for a newly attached page, the part kept free for follow-up turns. */
const FOLLOW_UP_SHARE = 0.25;

/** The question sent by "Summarize this page". */
export const SUMMARIZE_QUESTION = 'Summarize this page in a few sentences.';

/**
 * The text of a user turn that carries a page: the question first, then the page. Tried on
 * gemma-3-270m (greedy, 16 tokens) against the page first with the question after it (the model
 * copied the page) and a framed, quoted page (it repeated the framing): this order gave a
 * summary. Short, since every token of it is evaluated; the URL is left out (its digits alone
 * cost a token each).
 * @param {{ title: string, text: string }} page
 * @param {string} question
 * @param {boolean} trimmed whether `page.text` was cut to fit
 */
export function pagePrompt(page, question, trimmed) {
  const note = trimmed ? '\n\n(The page goes on; its text was cut here to fit.)' : '';
  return `${question}\n\nTitle: ${page.title}\n\n${page.text}${note}`;
}

/**
 * @typedef {{ title: string, url: string, text: string }} Page
 * @typedef {{ role: 'user', text: string, page?: Page } | { role: 'assistant', text: string }} Turn
 * @typedef {{ keptChars: number, totalChars: number, keptTokens: number }} PageFit
 */

/**
 * The messages for one request: as many earlier turns as fit (whole user/assistant pairs,
 * newest first) and the new user turn. A page attached to the new turn is cut to leave room for
 * follow-ups; a page in an earlier turn is kept, cut again when the conversation has grown past
 * it, so that follow-up questions still see the page; the pairs between go first.
 * @param {{ history: Turn[], ask: { text: string, page?: Page }, contextLength: number, maxTokens: number,
 *   scale?: number }} request `history` alternates user and assistant turns; `scale` (0–1]
 *   shrinks the budget after the engine said the estimate was short
 * @returns {{ messages: Array<{ role: string, content: string }>, page: PageFit | null,
 *   earlierPage: PageFit | null, droppedTurns: number, estimatedTokens: number }} `page`: how the
 *   new turn's page fits; `earlierPage`: how the earlier page fits now (null: none, or left out)
 * @throws {RangeError} when the context cannot hold the question and the reply
 */
export function fitConversation({ history, ask, contextLength, maxTokens, scale = 1 }) {
  // No system prompt: gemma has no system turn (its template folds one into the first user
  // turn), and a small model tends to repeat it instead of answering.
  let budget = Math.floor((contextLength - maxTokens - SAFETY) * scale);
  const newTurn = fitTurn(ask, budget, FOLLOW_UP_SHARE);
  if (!newTurn) {
    throw new RangeError(
      `the model's context (${contextLength} tokens) cannot hold this message and a ${maxTokens}-token reply: ` +
        'shorten the message, or raise the context length or lower the reply length in the options',
    );
  }
  budget -= newTurn.tokens;
  const pairs = []; // [index in history, user message, reply message], in any order
  const take = (i, room) => {
    const reply = history[i + 1].text;
    const user = fitTurn(history[i], room - cost(reply), 0);
    if (!user) return null;
    budget -= user.tokens + cost(reply);
    pairs.push([i, user, { role: 'assistant', content: reply }]);
    return user;
  };
  // The page the conversation is about: the latest earlier turn with one, unless this turn
  // brings its own. The pairs after it come first (up to half the room), then the page takes
  // what is left (cut again if the conversation has grown), then older pairs while they fit.
  let pageAt = -1;
  if (!ask.page) for (let i = history.length - 2; i >= 0 && pageAt < 0; i -= 2) if (history[i].page) pageAt = i;
  const recentRoom = pageAt >= 0 ? budget / 2 : budget;
  let i = history.length - 2;
  for (let spent = 0; i > pageAt; i -= 2) {
    const before = budget;
    if (!take(i, Math.min(budget, recentRoom - spent))) break;
    spent += before - budget;
  }
  let earlierPage = null;
  if (pageAt >= 0) {
    earlierPage = take(pageAt, budget)?.page ?? null;
    for (i = pageAt - 2; i >= 0 && take(i, budget); i -= 2);
  }
  pairs.sort((x, y) => x[0] - y[0]);
  const messages = [...pairs.flatMap(([, user, reply]) => [user.message, reply]), newTurn.message];
  const estimatedTokens = messages.reduce((sum, m) => sum + cost(m.content), SAFETY);
  return { messages, page: newTurn.page, earlierPage, droppedTurns: history.length - 2 * pairs.length, estimatedTokens };
}

/** Estimated tokens of one message with its template overhead. */
function cost(content) {
  return estimateTokens(content) + MESSAGE_OVERHEAD;
}

/**
 * A user turn within `budget` tokens, its page cut as needed (keeping `reserve` of the room
 * free), or null when it cannot fit.
 */
function fitTurn(turn, budget, reserve) {
  if (!turn.page) {
    const tokens = cost(turn.text);
    return tokens <= budget ? { message: { role: 'user', content: turn.text }, tokens, page: null } : null;
  }
  const frame = cost(pagePrompt({ ...turn.page, text: '' }, turn.text, true));
  const room = budget - frame;
  if (room < MIN_PAGE_TOKENS) return null;
  const fullTokens = estimateTokens(turn.page.text);
  // The reserve only applies to a page that does not fit whole.
  const limit = fullTokens <= room ? room : Math.max(MIN_PAGE_TOKENS, Math.floor(room * (1 - reserve)));
  const cut = cutToTokens(turn.page.text, limit);
  const content = pagePrompt({ ...turn.page, text: cut.text }, turn.text, cut.trimmed);
  const keptTokens = estimateTokens(cut.text);
  return {
    message: { role: 'user', content },
    tokens: cost(content),
    page: { keptChars: cut.text.length, totalChars: turn.page.text.length, keptTokens },
  };
}

/**
 * The `needed` and `capacity` of an engine `context_full` error ("context full: 5000 tokens
 * needed, context holds 4096"), or null.
 * @param {{ code?: string, message?: string }} error
 * @returns {{ needed: number, capacity: number } | null}
 */
export function contextOverflow(error) {
  if (error?.code !== 'context_full') return null;
  const m = /(\d+) tokens needed, context holds (\d+)/.exec(error.message ?? '');
  return m ? { needed: Number(m[1]), capacity: Number(m[2]) } : null;
}
