/**
 * The boot script: a classic script that runs while the page is parsed, before the bundle
 * (`main.ts`, a module, runs after parsing). It sets `<html lang>` and words the loading splash
 * in the reader's language, so the first thing shown (and read aloud) is not English for a
 * Vietnamese or Ukrainian reader. The splash's words in every language are on the element
 * (`data-<lang>`), written there by `build.mjs` from each catalogue's `boot.loading`; the
 * language is picked as the page picks it (`pick.ts`). It runs as a file, not inline: the
 * Content-Security-Policy allows the site's own scripts only.
 */

import { pickFrom, storedChoice } from "./pick";

const splash = document.getElementById("boot-words");
if (splash !== null) {
  // The element's data-en, data-vi, … in order: English, the default, comes first.
  const codes = Object.keys(splash.dataset);
  if (codes.length > 0) {
    const lang = pickFrom(codes, storedChoice(), navigator.languages);
    document.documentElement.lang = lang;
    splash.textContent = splash.dataset[lang] ?? "";
  }
}
