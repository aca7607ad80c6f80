// The conversation controller: sends the conversation to engine.chat.completions.create as a
// stream, shows the reply as it arrives, and handles stop, regenerate, edit-and-resend, the system
// prompt and new chats. Every change is saved to IndexedDB, so conversations survive a reload.
import type { ChatMessage, Engine, Usage } from '../../pkg/index.js';
import { byId } from './dom';
import { errorText } from './format';
import { MessagesView } from './messages-view';
import type { ModelPicker } from './model-picker';
import type { SettingsPanel } from './settings';
import type { StatsView } from './stats';
import { newConversation, saveConversation, type Conversation, type Message, type ReplyStats } from './storage';

export class Chat extends EventTarget {
  conversation: Conversation = newConversation();
  #engine: Engine;
  #picker: ModelPicker;
  #settings: SettingsPanel;
  #stats: StatsView;
  #view: MessagesView;
  #controller: AbortController | null = null;
  #prompt = byId<HTMLTextAreaElement>('prompt');
  #send = byId<HTMLButtonElement>('send');
  #stop = byId<HTMLButtonElement>('stop');
  #system = byId<HTMLTextAreaElement>('system-prompt');

  constructor(engine: Engine, picker: ModelPicker, settings: SettingsPanel, stats: StatsView) {
    super();
    this.#engine = engine;
    this.#picker = picker;
    this.#settings = settings;
    this.#stats = stats;
    this.#view = new MessagesView(byId('messages'), {
      edit: (index, text) => void this.editAndResend(index, text),
      regenerate: () => void this.regenerate(),
    });
    byId('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.send();
    });
    this.#prompt.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        void this.send();
      }
    });
    this.#stop.addEventListener('click', () => this.stop());
    this.#system.addEventListener('change', () => {
      this.conversation.system = this.#system.value;
      void this.#save();
    });
    picker.addEventListener('change', () => this.#updateControls());
  }

  get busy(): boolean {
    return this.#controller !== null;
  }

  /** Shows a conversation (stopping a reply in progress in the one shown before). */
  open(conv: Conversation): void {
    this.stop();
    this.conversation = conv;
    this.#system.value = conv.system;
    byId('system-details').toggleAttribute('open', conv.system !== '');
    this.#view.render(conv, false);
    const last = [...conv.messages].reverse().find((m) => m.role === 'assistant' && m.stats);
    this.#stats.show(last?.stats ?? null);
    this.#updateControls();
  }

  /** Sends the composer's text as a new user turn. */
  async send(): Promise<void> {
    const text = this.#prompt.value;
    if (!text.trim() || this.busy || this.#picker.state !== 'ready') return;
    this.#prompt.value = '';
    const conv = this.conversation;
    if (conv.messages.length === 0) conv.title = title(text);
    conv.messages.push({ role: 'user', content: text });
    await this.#reply();
  }

  /** Stops the reply in progress (its text so far stays, marked stopped). */
  stop(): void {
    this.#controller?.abort();
  }

  /** Replaces the last reply with a new one. */
  async regenerate(): Promise<void> {
    const msgs = this.conversation.messages;
    if (this.busy || msgs.at(-1)?.role !== 'assistant') return;
    msgs.pop();
    await this.#reply();
  }

  /** Replaces user turn `index` with `text`, drops what followed it and asks again. */
  async editAndResend(index: number, text: string): Promise<void> {
    const conv = this.conversation;
    if (this.busy || conv.messages[index]?.role !== 'user') return;
    conv.messages.splice(index);
    if (index === 0) conv.title = title(text);
    conv.messages.push({ role: 'user', content: text });
    await this.#reply();
  }

  /** Streams the model's reply to the conversation as it stands. */
  async #reply(): Promise<void> {
    if (this.#picker.state !== 'ready') {
      this.#view.render(this.conversation, false);
      await this.#save();
      return;
    }
    const conv = this.conversation;
    const request = toRequest(conv);
    const reply: Message = { role: 'assistant', content: '' };
    conv.messages.push(reply);
    const controller = new AbortController();
    this.#controller = controller;
    this.#updateControls();
    this.#view.render(conv, true);
    this.#stats.begin();
    void this.#save();
    let stats: ReplyStats | null = null;
    try {
      const stream = await this.#engine.chat.completions.create({
        ...this.#settings.request(),
        messages: request,
        stream: true,
        signal: controller.signal,
      });
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice.delta.content) {
          reply.content += choice.delta.content;
          this.#stats.chunk();
          this.#view.update(reply);
        }
        if (chunk.usage) stats = toStats(chunk.usage, choice.finish_reason ?? 'stop');
      }
      reply.stats = stats ?? undefined;
    } catch (e: any) {
      if (e?.code === 'aborted') reply.stopped = true;
      else reply.error = errorText(e);
    } finally {
      this.#controller = null;
      this.#stats.finish(stats);
      this.#updateControls();
      // Drawn again only if it is still the conversation on screen.
      if (this.conversation === conv) this.#view.render(conv, false);
      await this.#save(conv);
    }
  }

  async #save(conv = this.conversation): Promise<void> {
    if (conv.messages.length === 0 && !conv.system) return; // an untouched new chat is not kept
    conv.updatedAt = Date.now();
    await saveConversation(conv);
    this.dispatchEvent(new Event('saved'));
  }

  #updateControls(): void {
    const ready = this.#picker.state === 'ready';
    this.#send.hidden = this.busy;
    this.#stop.hidden = !this.busy;
    this.#send.disabled = !ready;
    this.#prompt.placeholder = ready
      ? 'Message the model (Enter sends, Shift+Enter for a new line)'
      : this.#picker.state === 'loading'
        ? 'Loading the model…'
        : 'Load a model to chat (Model tab)';
    if (!this.busy && ready && document.activeElement === document.body) this.#prompt.focus();
  }
}

/** The engine's messages: the system prompt, then the turns (replies that produced nothing left out). */
function toRequest(conv: Conversation): ChatMessage[] {
  const turns = conv.messages.filter((m) => m.role === 'user' || m.content !== '');
  return [...(conv.system.trim() ? [{ role: 'system', content: conv.system }] : []), ...turns.map((m) => ({ role: m.role, content: m.content }))];
}

function toStats(u: Usage, finish: 'stop' | 'length'): ReplyStats {
  return {
    promptTokens: u.prompt_tokens,
    cachedTokens: u.prompt_tokens_details.cached_tokens,
    completionTokens: u.completion_tokens,
    ttftMs: u.timings.ttft_ms,
    prefillTokS: u.timings.prefill_tokens_per_s,
    decodeTokS: u.timings.decode_tokens_per_s,
    totalMs: u.timings.total_ms,
    finish,
  };
}

/** A conversation's title: the start of its first message. */
function title(text: string): string {
  const line = text.trim().split('\n')[0];
  return line.length > 48 ? `${line.slice(0, 47)}…` : line;
}
