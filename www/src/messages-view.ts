// Draws a conversation's messages: user turns as plain text, replies as Markdown, each with its
// actions (edit a user turn and send it again; regenerate or copy the last reply) and, under a
// reply, its figures or why it ended early. While a reply streams only its body is redrawn.
import { h } from './dom';
import { ms, rate, tokens } from './format';
import { addCopyButtons, renderMarkdown } from './markdown';
import type { Conversation, Message } from './storage';

export interface MessageActions {
  edit(index: number, text: string): void;
  regenerate(): void;
}

export class MessagesView {
  #root: HTMLElement;
  #actions: MessageActions;
  #streaming: { body: HTMLElement; message: Message; frame: number } | null = null;

  constructor(root: HTMLElement, actions: MessageActions) {
    this.#root = root;
    this.#actions = actions;
  }

  /** Draws the whole conversation; `busy`: a reply is streaming (its actions are hidden). */
  render(conv: Conversation, busy: boolean): void {
    this.#streaming = null;
    if (conv.messages.length === 0) {
      this.#root.replaceChildren(
        h('div', { class: 'empty' }, h('p', {}, 'Ask something. The model runs on this device’s GPU: nothing leaves the browser.'),
          h('p', { class: 'muted' }, 'Enter sends · Shift+Enter is a new line · Escape stops a reply')),
      );
      return;
    }
    const last = conv.messages.length - 1;
    this.#root.replaceChildren(...conv.messages.map((m, i) => this.#message(m, i, i === last, busy)));
    this.scrollToEnd(true);
  }

  /** The streaming reply changed: redraws its body on the next frame (one render per frame). */
  update(message: Message): void {
    const s = this.#streaming;
    if (!s || s.message !== message || s.frame) return;
    s.frame = requestAnimationFrame(() => {
      s.frame = 0;
      const stick = this.#nearEnd();
      s.body.innerHTML = renderMarkdown(message.content);
      if (stick) this.scrollToEnd(true);
    });
  }

  scrollToEnd(force = false): void {
    if (force || this.#nearEnd()) this.#root.scrollTop = this.#root.scrollHeight;
  }

  #nearEnd(): boolean {
    const r = this.#root;
    return r.scrollHeight - r.scrollTop - r.clientHeight < 80;
  }

  #message(m: Message, index: number, isLast: boolean, busy: boolean): HTMLElement {
    const body = h('div', { class: 'body' });
    if (m.role === 'assistant') {
      body.innerHTML = renderMarkdown(m.content);
      addCopyButtons(body);
    } else {
      body.textContent = m.content;
    }
    const streaming = busy && isLast && m.role === 'assistant';
    if (streaming) this.#streaming = { body, message: m, frame: 0 };
    const el = h(
      'article',
      { class: `message ${m.role}`, 'data-index': index, 'data-streaming': streaming ? 'true' : null, 'aria-busy': streaming ? 'true' : null },
      h('div', { class: 'role' }, m.role === 'user' ? 'You' : 'Model'),
      body,
    );
    if (streaming && !m.content) body.append(h('span', { class: 'typing', 'aria-label': 'waiting for the first token' }));
    // One line under the message: its figures (or why it ended early), then its actions.
    const note = this.#note(m);
    const tools = busy ? null : this.#tools(m, index, isLast, el, body);
    if (note || tools) el.append(h('div', { class: 'footer' }, note, tools));
    return el;
  }

  #note(m: Message): HTMLElement | null {
    if (m.error) return h('p', { class: 'note error' }, m.error);
    if (m.stopped) return h('p', { class: 'note' }, 'Stopped.');
    const s = m.stats;
    if (!s) return null;
    return h(
      'p',
      { class: 'note' },
      `${tokens(s.completionTokens)}${s.completionTokens > 1 ? ` · ${rate(s.decodeTokS)}` : ''} · first token ${ms(s.ttftMs)}` +
        (s.finish === 'length' ? ' · hit max tokens' : ''),
    );
  }

  #tools(m: Message, index: number, isLast: boolean, el: HTMLElement, body: HTMLElement): HTMLElement | null {
    if (m.role === 'user') {
      return h('div', { class: 'tools' }, h('button', { type: 'button', class: 'ghost small', onclick: () => this.#startEdit(m, index, el, body) }, 'Edit'));
    }
    const copy = h('button', {
      type: 'button',
      class: 'ghost small',
      onclick: async () => {
        await navigator.clipboard?.writeText(m.content);
        copy.textContent = 'Copied';
        setTimeout(() => (copy.textContent = 'Copy'), 1500);
      },
    }, 'Copy');
    const regenerate = isLast ? h('button', { type: 'button', class: 'ghost small', onclick: () => this.#actions.regenerate() }, 'Regenerate') : null;
    return h('div', { class: 'tools' }, regenerate, copy);
  }

  /** Turns a user message into an editor; sending it drops everything after it and asks again. */
  #startEdit(m: Message, index: number, el: HTMLElement, body: HTMLElement): void {
    const editor = h('textarea', { class: 'edit', rows: Math.min(10, m.content.split('\n').length + 1), 'aria-label': 'Edit the message' });
    editor.value = m.content;
    const cancel = () => {
      form.replaceWith(body);
      el.querySelector('.tools')?.removeAttribute('hidden');
    };
    const send = () => {
      if (editor.value.trim()) this.#actions.edit(index, editor.value);
    };
    editor.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send();
      } else if (e.key === 'Escape') {
        e.stopPropagation();
        cancel();
      }
    });
    const form = h(
      'form',
      { class: 'editing', onsubmit: (e: Event) => (e.preventDefault(), send()) },
      editor,
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary small' }, 'Send'), h('button', { type: 'button', class: 'ghost small', onclick: cancel }, 'Cancel')),
    );
    body.replaceWith(form);
    el.querySelector('.tools')?.setAttribute('hidden', '');
    editor.focus();
  }
}
