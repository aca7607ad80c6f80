// The page's frame: the side panel's tabs, and the two drawers (conversations, panel) that slide in
// over the chat on narrow screens. On wide screens both are columns and the toggles only hide them.
import { byId } from './dom';

export type Tab = 'model' | 'settings' | 'gpu' | 'cache';

/** Wires the tabs; `onShow(tab)` runs when a tab is shown (to refresh what it displays). */
export function initTabs(onShow: (tab: Tab) => void): (tab: Tab) => void {
  const tabs = Array.from(document.querySelectorAll<HTMLButtonElement>('[role="tab"]'));
  const show = (name: Tab) => {
    for (const t of tabs) {
      const selected = t.dataset.tab === name;
      t.setAttribute('aria-selected', String(selected));
      t.tabIndex = selected ? 0 : -1;
      byId(`tab-${t.dataset.tab}`).hidden = !selected;
    }
    onShow(name);
  };
  for (const t of tabs) {
    t.addEventListener('click', () => show(t.dataset.tab as Tab));
    // Arrow keys move between tabs (the ARIA tabs pattern).
    t.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!step) return;
      const next = tabs[(tabs.indexOf(t) + step + tabs.length) % tabs.length];
      next.focus();
      show(next.dataset.tab as Tab);
    });
  }
  return show;
}

/** The drawer toggles in the header; returns a function that closes any open drawer. */
export function initDrawers(): () => boolean {
  const app = byId('app');
  const pairs: Array<[string, string]> = [
    ['toggle-history', 'history'],
    ['toggle-panel', 'panel'],
  ];
  for (const [button, drawer] of pairs) {
    const b = byId(button);
    b.addEventListener('click', () => {
      const open = app.dataset.open === drawer;
      if (open) delete app.dataset.open;
      else app.dataset.open = drawer;
      syncExpanded();
    });
  }
  byId('scrim').addEventListener('click', () => close());
  for (const b of document.querySelectorAll('.close-drawer')) b.addEventListener('click', () => close());
  const syncExpanded = () => {
    for (const [button, drawer] of pairs) byId(button).setAttribute('aria-expanded', String(app.dataset.open === drawer));
  };
  const close = () => {
    const was = Boolean(app.dataset.open);
    delete app.dataset.open;
    syncExpanded();
    return was;
  };
  syncExpanded();
  return close;
}

/** Opens the side panel (as a drawer on narrow screens). */
export function openPanel(): void {
  byId('app').dataset.open = 'panel';
  byId('toggle-panel').setAttribute('aria-expanded', 'true');
}
