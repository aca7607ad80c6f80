// The content script, injected on demand into the tab the user asked about
// (chrome.scripting.executeScript with the activeTab grant; never declared for all pages). It only
// defines the reader in the extension's isolated world: the panel then calls it and receives the
// page's title, URL and readable text. It sends nothing anywhere itself.
import { readPage } from './extract.js';

globalThis.brasaReadPage = () => readPage(document);
