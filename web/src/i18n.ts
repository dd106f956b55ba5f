/**
 * The page's words in the reader's language. Every label, hint, error in words, name, relative
 * time and number on the page comes from here: `t("key")` for words (the catalogues are
 * `locales/<lang>.json`), `plural()` for counted words, `formatNumber()` and `relativeTime()`
 * through `Intl` in the same language.
 *
 * The language is the one the reader chose with the switch in the page (kept in localStorage),
 * else the first of the browser's languages the page speaks, else English. Choosing another one
 * stores it and reloads the page (the address keeps the conversation; the composer keeps its
 * draft), so nothing on screen stays in the old language. `<html lang>` follows, so screen
 * readers pronounce the page right.
 */

import en from "./locales/en.json";
import uk from "./locales/uk.json";
import vi from "./locales/vi.json";
import { pickFrom, STORAGE_KEY, storedChoice } from "./pick";

export { STORAGE_KEY };

/** A key of the catalogues; English is the reference every other language must match. */
export type Key = keyof typeof en;
type Messages = Record<Key, string>;

/**
 * The page's languages: code → its name in itself and its catalogue. A fourth language is a
 * `locales/<code>.json` file and one line here.
 */
export const LOCALES = {
  en: { name: "English", messages: en },
  vi: { name: "Tiếng Việt", messages: vi },
  uk: { name: "Українська", messages: uk },
} satisfies Record<string, { name: string; messages: Messages }>;

export type Lang = keyof typeof LOCALES;

/** The language to show: `stored` when it is one of ours, else the first browser language. */
export function pickLanguage(stored: string | null, preferred: readonly string[]): Lang {
  return pickFrom(Object.keys(LOCALES) as Lang[], stored, preferred);
}

let current: Lang = pickLanguage(
  typeof window === "undefined" ? null : storedChoice(),
  typeof navigator === "undefined" ? [] : navigator.languages,
);

/** The language the page is shown in. */
export function language(): Lang {
  return current;
}

/** Sets `<html lang>` to the chosen language (`boot.ts` did so already, before the bundle). */
export function applyToDocument(): void {
  document.documentElement.lang = current;
}

/** Remembers `code` as the reader's choice and shows the page in it. */
export function chooseLanguage(code: Lang): void {
  try {
    window.localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // Not remembered: this page still switches.
  }
  if (code === current) return;
  current = code;
  window.location.reload();
}

/** Numbers in the page's language: `1234.5` → "1,234.5" / "1.234,5" / "1 234,5". */
export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(current, options).format(value);
}

/**
 * The words of `key`, with `{name}` placeholders filled from `values` (numbers formatted in the
 * page's language). A key missing in a language falls back to English.
 */
export function t(key: Key, values: Record<string, string | number> = {}): string {
  const messages: Messages = LOCALES[current].messages;
  return fill(messages[key] ?? en[key], values);
}

function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) return whole;
    return typeof value === "number" ? formatNumber(value) : value;
  });
}

/** The keys that have plural forms: "count.messages" for "count.messages.one", ".other", … */
export type PluralKey = BaseOf<Key>;
type BaseOf<K> = K extends `${infer Base}.other` ? Base : never;

/**
 * `count` with its counted word, in the form the language uses for it ("{count}" is filled).
 * English has "one" and "other"; a language with more forms (Ukrainian: one, few, many) adds
 * those keys to its own catalogue.
 */
export function plural(
  base: PluralKey,
  count: number,
  values: Record<string, string> = {},
): string {
  const form = new Intl.PluralRules(current).select(count);
  const messages: Record<string, string> = LOCALES[current].messages;
  const key = `${base}.${form}` in messages ? `${base}.${form}` : `${base}.other`;
  const text = messages[key] ?? (en as Record<string, string>)[key] ?? "";
  return fill(text, { ...values, count });
}

/** "5 minutes ago", "yesterday", "in 2 hours" in the page's language. */
export function relativeTime(value: number, unit: Intl.RelativeTimeFormatUnit): string {
  return new Intl.RelativeTimeFormat(current, { numeric: "auto" }).format(value, unit);
}

/** Dates and times in the page's language. */
export function dateFormat(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat(current, options);
}
