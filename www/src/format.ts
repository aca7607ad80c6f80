// How numbers are shown: bytes in binary units, rates, durations.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 253113024 → "241.4 MiB". */
export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${n.toFixed(i === 0 || n >= 100 ? 0 : 1)} ${UNITS[i]}`;
}

/** Seconds as "45 s", "3 min 20 s", "1 h 5 min". */
export function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–';
  if (s < 60) return `${Math.ceil(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Tokens per second with the precision that matters at 1 and at 1000 tok/s. */
export function rate(tokS: number): string {
  if (!Number.isFinite(tokS)) return '–';
  return `${tokS < 10 ? tokS.toFixed(2) : tokS < 100 ? tokS.toFixed(1) : tokS.toFixed(0)} tok/s`;
}

/** 1234567 → "1,234,567". */
export function count(n: number): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US') : '–';
}

/** A BrasaError (or any error) for a person: "message (code)". */
export function errorText(e: any): string {
  const message = e?.message ?? String(e);
  return e?.code ? `${message} (${e.code})` : message;
}

/** Milliseconds as "850 ms" or, from a second on, "12.3 s". */
export function ms(t: number): string {
  if (!Number.isFinite(t)) return '–';
  return t < 1000 ? `${Math.round(t)} ms` : `${(t / 1000).toFixed(1)} s`;
}

/** "1 token", "12 tokens". */
export function tokens(n: number): string {
  return `${count(n)} ${n === 1 ? 'token' : 'tokens'}`;
}
