// The conversation list (left side): new chat, open one, delete one. The list is what IndexedDB
// holds, most recently changed first.
import { byId, h } from './dom';
import { deleteConversation, listConversations, newConversation, type Conversation } from './storage';

export class History {
  #list = byId('conversation-list');
  #open: (c: Conversation) => void;
  #currentId: () => string;

  /** `open(c)`: show conversation c; `currentId()`: the one shown now. */
  constructor(open: (c: Conversation) => void, currentId: () => string) {
    this.#open = open;
    this.#currentId = currentId;
    byId('new-chat').addEventListener('click', () => this.newChat());
  }

  /** Opens the most recent conversation (or a new one) and draws the list. */
  async init(): Promise<void> {
    const all = await listConversations();
    this.#open(all[0] ?? newConversation());
    this.#draw(all);
  }

  newChat(): void {
    this.#open(newConversation());
    void this.refresh();
  }

  async refresh(): Promise<void> {
    this.#draw(await listConversations());
  }

  #draw(all: Conversation[]): void {
    const current = this.#currentId();
    if (all.length === 0) {
      this.#list.replaceChildren(h('li', { class: 'muted' }, 'No conversations yet.'));
      return;
    }
    this.#list.replaceChildren(
      ...all.map((c) =>
        h(
          'li',
          { 'aria-current': c.id === current ? 'true' : null },
          h('button', { type: 'button', class: 'open', title: c.title, onclick: () => (this.#open(c), void this.refresh()) }, c.title),
          h('button', {
            type: 'button',
            class: 'delete ghost',
            'aria-label': `Delete the conversation “${c.title}”`,
            title: 'Delete',
            onclick: async () => {
              await deleteConversation(c.id);
              if (c.id === this.#currentId()) this.#open(newConversation());
              await this.refresh();
            },
          }, '×'),
        ),
      ),
    );
  }
}
