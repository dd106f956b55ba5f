/** The page's language switch: a menu of the languages in their own names (see i18n.ts). */

import { h, on } from "./dom";
import { chooseLanguage, type Lang, LOCALES, language, t } from "./i18n";

/** Where the prompt box's words wait (this tab only) while the page reloads in a new language. */
const KEPT_DRAFT = "photofun.draft";

/** The words the prompt box had before the language changed, once; "" when none. */
export function takeKeptDraft(): string {
  try {
    const kept = window.sessionStorage.getItem(KEPT_DRAFT) ?? "";
    window.sessionStorage.removeItem(KEPT_DRAFT);
    return kept;
  } catch {
    return "";
  }
}

function keepDraft(): void {
  const prompt = document.getElementById("prompt");
  if (!(prompt instanceof HTMLTextAreaElement) || prompt.value === "") return;
  try {
    window.sessionStorage.setItem(KEPT_DRAFT, prompt.value);
  } catch {
    // Not kept: the page still switches.
  }
}

/**
 * A labelled `<select>`; choosing a language remembers it and shows the page in it (a reload:
 * the address keeps the conversation, and the prompt box's words are kept for it).
 */
export function languageSwitch(): HTMLElement {
  const select = h(
    "select",
    { class: "lang-switch", "data-testid": "language-switch", "aria-label": t("lang.switch") },
    ...Object.entries(LOCALES).map(([code, locale]) =>
      h("option", { value: code, lang: code }, locale.name),
    ),
  );
  select.value = language();
  on(select, "change", () => {
    keepDraft();
    chooseLanguage(select.value as Lang);
  });
  return h(
    "label",
    { class: "lang-field", title: t("lang.switch") },
    h("span", { class: "visually-hidden" }, t("lang.switch")),
    select,
  );
}
