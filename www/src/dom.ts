// Small DOM helpers: the playground is plain TypeScript over the DOM, no framework.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: any) => void)>;

/**
 * Creates an element: `h('button', { class: 'primary', onclick: go }, 'Send')`. Attributes named
 * `on…` become listeners; `true` sets a boolean attribute, `false`/`null`/`undefined` leave it off.
 * Text children become text nodes (never parsed as HTML).
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value != null) el.setAttribute(name, String(value));
  }
  el.append(...children.filter((c): c is Node | string => c != null && c !== false));
  return el;
}

/** The element with this id (the page's static skeleton is in index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no #${id}`);
  return el as T;
}

/** A `<dl>`-style list of label/value rows, as used by the stats, GPU and model panels. */
export function facts(rows: Array<[Child, Child]>): HTMLDListElement {
  return h('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}
