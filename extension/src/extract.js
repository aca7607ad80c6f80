// The readable text of a page: its main content as Mozilla's Readability (Firefox's Reader View)
// finds it, without menus, scripts, footers or sidebars. Pages that Readability cannot read
// (an app, a list of links) fall back to the body's text with navigation and page furniture
// removed. Runs in the page as the content script (content.js), on a clone of the document: the
// page itself is never changed.
import { Readability } from '@mozilla/readability';

/** Below this many characters Readability's article is taken to have missed the content. */
const MIN_ARTICLE_CHARS = 200;

/** Elements whose text is not the page's content. */
const FURNITURE =
  'script, style, noscript, template, iframe, svg, canvas, nav, header, footer, aside, button, select, ' +
  '[role="navigation"], [role="banner"], [role="contentinfo"], [role="complementary"], [role="search"], ' +
  '[hidden], [aria-hidden="true"]';

/** Elements after which text continues on a new paragraph. */
const BLOCKS = new Set(
  'ADDRESS ARTICLE BLOCKQUOTE DD DIV DL DT FIGCAPTION FIGURE H1 H2 H3 H4 H5 H6 HR LI MAIN OL P PRE SECTION TABLE TR UL'.split(' '),
);

/**
 * @param {Document} doc
 * @returns {{ title: string, url: string, lang: string, text: string, method: 'readability' | 'body' }}
 */
export function readPage(doc) {
  const url = doc.location?.href ?? '';
  let article = null;
  try {
    // The serializer hands back the article's element (not HTML to parse again).
    article = new Readability(doc.cloneNode(true), { serializer: (el) => el }).parse();
  } catch {
    article = null; // a page Readability cannot walk: use the fallback below
  }
  let text = article?.content ? blockText(article.content) : '';
  let method = 'readability';
  if (text.length < MIN_ARTICLE_CHARS) {
    const body = doc.body?.cloneNode(true);
    if (body) {
      for (const el of body.querySelectorAll(FURNITURE)) el.remove();
      const fallback = blockText(body);
      // Readability's few characters were likely furniture it could not tell from content.
      if (fallback) {
        text = fallback;
        method = 'body';
      }
    }
  }
  const title = (article?.title || doc.title || url).trim();
  return { title, url, lang: doc.documentElement?.lang ?? '', text, method };
}

/**
 * The text of an element with paragraph breaks after block elements and line breaks at `<br>`,
 * white space collapsed (a detached element has no layout, so `innerText` cannot be used).
 * @param {Node} root
 * @returns {string}
 */
export function blockText(root) {
  const parts = [];
  const walk = (node) => {
    if (node.nodeType === 3) {
      parts.push(node.data);
      return;
    }
    if (node.nodeType !== 1 && node.nodeType !== 11) return;
    const tag = node.nodeName;
    if (tag === 'SCRIPT' || tag === 'STYLE' || tag === 'NOSCRIPT' || tag === 'TEMPLATE') return;
    if (tag === 'BR') {
      parts.push('\n');
      return;
    }
    const block = BLOCKS.has(tag);
    if (block) parts.push('\n\n');
    for (let c = node.firstChild; c; c = c.nextSibling) walk(c);
    if (block) parts.push('\n\n');
    else if (tag === 'TD' || tag === 'TH') parts.push('\t');
  };
  walk(root);
  return parts
    .join('')
    .replace(/[ \t\u00a0\r\f\v]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
