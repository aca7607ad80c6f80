// What the playground keeps between visits, in IndexedDB (through `idb`): the conversations and the
// settings. Model files are not here: the engine keeps those in Cache Storage (`cache: true`).
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

/** The figures of one finished reply (from the engine's `usage`). */
export interface ReplyStats {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  ttftMs: number;
  prefillTokS: number;
  decodeTokS: number;
  totalMs: number;
  finish: 'stop' | 'length';
}

export interface Message {
  role: 'user' | 'assistant';
  content: string;
  /** Assistant replies: set once the reply finished. */
  stats?: ReplyStats;
  /** The reply was stopped before it finished (its text is what had arrived). */
  stopped?: boolean;
  /** The reply failed: the error shown under it. */
  error?: string;
}

export interface Conversation {
  id: string;
  title: string;
  system: string;
  messages: Message[];
  createdAt: number;
  updatedAt: number;
}

interface Schema extends DBSchema {
  conversations: { key: string; value: Conversation; indexes: { updatedAt: number } };
  settings: { key: string; value: unknown };
}

const DB_NAME = 'brasa-playground';
let db: Promise<IDBPDatabase<Schema>> | null = null;

function open(): Promise<IDBPDatabase<Schema>> {
  db ??= openDB<Schema>(DB_NAME, 1, {
    upgrade(d) {
      d.createObjectStore('conversations', { keyPath: 'id' }).createIndex('updatedAt', 'updatedAt');
      d.createObjectStore('settings');
    },
  });
  return db;
}

/** All conversations, the most recently changed first. */
export async function listConversations(): Promise<Conversation[]> {
  const all = await (await open()).getAllFromIndex('conversations', 'updatedAt');
  return all.reverse();
}

export async function saveConversation(c: Conversation): Promise<void> {
  // A structured clone of plain data: strip anything the view may have attached.
  await (await open()).put('conversations', JSON.parse(JSON.stringify(c)));
}

export async function deleteConversation(id: string): Promise<void> {
  await (await open()).delete('conversations', id);
}

export async function getSetting<T>(key: string): Promise<T | undefined> {
  return (await (await open()).get('settings', key)) as T | undefined;
}

export async function putSetting(key: string, value: unknown): Promise<void> {
  await (await open()).put('settings', value, key);
}

/** A new, empty conversation (not stored until it has a message). */
export function newConversation(system = ''): Conversation {
  const now = Date.now();
  return { id: crypto.randomUUID(), title: 'New chat', system, messages: [], createdAt: now, updatedAt: now };
}
