/** The page's language switch: a menu of the languages in their own names (see i18n.ts). */

import { h, on } from "./dom";
import { chooseLanguage, type Lang, LOCALES, language, t } from "./i18n";

/** A labelled `<select>`; choosing a language remembers it and shows the page in it. */
export function languageSwitch(): HTMLElement {
  const select = h(
    "select",
    { class: "lang-switch", "data-testid": "language-switch", "aria-label": t("lang.switch") },
    ...Object.entries(LOCALES).map(([code, locale]) =>
      h("option", { value: code, lang: code }, locale.name),
    ),
  );
  select.value = language();
  on(select, "change", () => chooseLanguage(select.value as Lang));
  return h(
    "label",
    { class: "lang-field", title: t("lang.switch") },
    h("span", { class: "visually-hidden" }, t("lang.switch")),
    select,
  );
}
