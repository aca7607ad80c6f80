// Renders a reply's Markdown to HTML. Model output is untrusted: markdown-it runs with `html: false`
// (raw HTML in the text is escaped, never parsed) and its link validation drops `javascript:`,
// `vbscript:` and non-image `data:` URLs. Links open in a new tab with no opener or referrer.
// Images are off: a reply could otherwise make the page fetch any URL (nothing should leave the
// device unasked).
// Code blocks are highlighted by highlight.js (its output is escaped text in spans).
import MarkdownIt from 'markdown-it';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';

const LANGUAGES = { bash, c, cpp, css, go, java, javascript, json, python, rust, sql, typescript, xml };
for (const [name, lang] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, lang);

const md = new MarkdownIt({
  html: false,
  linkify: true,
  breaks: true,
  highlight(code, lang) {
    if (!lang || !hljs.getLanguage(lang)) return ''; // markdown-it escapes it itself
    try {
      return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
    } catch {
      return '';
    }
  },
}).disable('image');

const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, i, options, _env, self) => self.renderToken(tokens, i, options));
md.renderer.rules.link_open = (tokens, i, options, env, self) => {
  tokens[i].attrSet('target', '_blank');
  tokens[i].attrSet('rel', 'noopener noreferrer nofollow');
  return defaultLinkOpen(tokens, i, options, env, self);
};

/** The HTML of `text` (safe to assign to innerHTML). */
export function renderMarkdown(text: string): string {
  return md.render(text);
}

/** Adds a "Copy" button to each code block under `root` (after a render). */
export function addCopyButtons(root: HTMLElement): void {
  for (const pre of root.querySelectorAll('pre')) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = 'Copy';
    button.addEventListener('click', async () => {
      await navigator.clipboard?.writeText(pre.querySelector('code')?.textContent ?? pre.textContent ?? '');
      button.textContent = 'Copied';
      setTimeout(() => (button.textContent = 'Copy'), 1500);
    });
    pre.append(button);
  }
}
