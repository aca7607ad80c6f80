// Reads the tab the side panel sits beside: injects the content script (content.js) into the
// active tab of the panel's window and calls its reader. Chrome allows this only for a tab the
// user has clicked the toolbar icon on (the activeTab grant, kept while the tab stays on that
// site), so a refusal becomes a message saying what to do.

export class PageError extends Error {
  /** @param {'no_tab' | 'no_access' | 'browser_page' | 'empty' | 'read_failed'} code */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * @returns {Promise<{ title: string, url: string, lang: string, text: string, method: string }>}
 * @throws {PageError}
 */
export async function readActiveTab() {
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  if (!tab?.id) throw new PageError('no_tab', 'There is no tab to read in this window.');
  let page;
  try {
    const target = { tabId: tab.id };
    await chrome.scripting.executeScript({ target, files: ['content.js'] });
    const [result] = await chrome.scripting.executeScript({ target, func: () => globalThis.brasaReadPage() });
    page = result?.result;
  } catch (e) {
    throw explain(e);
  }
  if (!page?.text) throw new PageError('empty', 'This page has no readable text.');
  return page;
}

function explain(e) {
  const why = e?.message ?? String(e);
  if (/chrome:\/\/|chrome-extension:\/\/|extensions gallery|cannot be scripted|edge:\/\/|about:/i.test(why)) {
    return new PageError('browser_page', 'Chrome does not let extensions read this page (browser pages and the Web Store).');
  }
  if (/permission|Cannot access contents/i.test(why)) {
    return new PageError(
      'no_access',
      'brasa may read a tab only after you click its toolbar icon on that tab. Click the brasa icon, then try again.',
    );
  }
  return new PageError('read_failed', `This page could not be read: ${why}`);
}
