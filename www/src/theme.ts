// Light and dark themes: the system's choice (prefers-color-scheme) unless the toggle picked one.
// The choice is in localStorage so that index.html's inline script applies it before first paint.
import { byId } from './dom';

type Theme = 'auto' | 'light' | 'dark';
const KEY = 'brasa-theme';
const NEXT: Record<Theme, Theme> = { auto: 'light', light: 'dark', dark: 'auto' };
const LABEL: Record<Theme, string> = { auto: '◐ Auto', light: '☀ Light', dark: '☾ Dark' };

export function initTheme(): void {
  const button = byId<HTMLButtonElement>('theme-toggle');
  let theme = (localStorage.getItem(KEY) as Theme | null) ?? 'auto';
  const apply = () => {
    if (theme === 'auto') delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    button.textContent = LABEL[theme];
    button.title = `Theme: ${theme} (click for ${NEXT[theme]})`;
    button.setAttribute('aria-label', `Theme: ${theme}. Switch to ${NEXT[theme]}`);
  };
  button.addEventListener('click', () => {
    theme = NEXT[theme];
    if (theme === 'auto') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
    apply();
  });
  apply();
}
