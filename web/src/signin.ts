/** The sign-in panel: paste an access token; shown when there is none or the server refused it. */

import { h, icon, on, replaceChildren } from "./dom";
import { t } from "./i18n";
import { languageSwitch } from "./language-switch";

export class SignInPanel {
  readonly el: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly error: HTMLElement;

  constructor(signIn: (token: string) => void) {
    this.input = h("textarea", {
      id: "token",
      class: "token-input",
      rows: 4,
      spellcheck: "false",
      autocomplete: "off",
      autocapitalize: "off",
      placeholder: "eyJhbGciOi…",
      required: true,
    });
    this.error = h("p", { class: "signin-error", role: "alert", hidden: true });
    const form = h(
      "form",
      { class: "signin card", "aria-labelledby": "signin-title" },
      h(
        "div",
        { class: "brand big" },
        h("span", { class: "logo", "aria-hidden": "true" }, icon("spark")),
        h("span", {}, "PhotoFun ", h("span", { class: "brand-accent" }, "Studio")),
      ),
      h("h1", { id: "signin-title" }, t("signin.title")),
      h("p", { class: "muted" }, t("signin.text")),
      this.error,
      h("label", { for: "token" }, t("signin.token")),
      this.input,
      h("button", { type: "submit", class: "btn primary block" }, t("signin.continue")),
      h(
        "p",
        { class: "muted small" },
        `${t("signin.developers")} `,
        h("code", {}, "photofun token --user NAME"),
        ` ${t("signin.mints")}`,
      ),
      languageSwitch(),
    );
    on(form, "submit", (event) => {
      event.preventDefault();
      // People paste the whole header value as often as the token itself.
      const token = this.input.value.trim().replace(/^bearer\s+/i, "");
      if (token === "") return;
      this.input.value = "";
      signIn(token);
    });
    this.el = h("main", { class: "signin-screen", hidden: true }, form);
  }

  /** Shows the panel, with `reason` (why the user is back here) when there is one. */
  show(reason = ""): void {
    replaceChildren(this.error, reason);
    this.error.hidden = reason === "";
    this.el.hidden = false;
    this.input.focus();
  }

  hide(): void {
    this.el.hidden = true;
  }
}
