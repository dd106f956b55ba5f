/**
 * Which of the page's languages to show, shared by the page (`i18n.ts`) and the boot script
 * (`boot.ts`), which runs before the bundle and must stay small: no catalogue is imported here.
 */

/** Where the reader's choice is kept. */
export const STORAGE_KEY = "photofun.lang";

/** The reader's stored choice, if storage can be read. */
export function storedChoice(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage may be off (private windows, policies): the browser's language rules
  }
}

/**
 * The language to show among `codes` (the first is the default): `stored` when it is one of
 * them, else the first of the browser's `preferred` languages that is ("vi-VN" → "vi").
 */
export function pickFrom<T extends string>(
  codes: readonly T[],
  stored: string | null,
  preferred: readonly string[],
): T {
  const known = (code: string): code is T => (codes as readonly string[]).includes(code);
  if (stored !== null && known(stored)) return stored;
  for (const tag of preferred) {
    const code = tag.toLowerCase().split("-")[0] ?? "";
    if (known(code)) return code;
  }
  return codes[0] as T;
}
