/** The sign-in panel: paste an access token; shown when there is none or the server refused it. */

import { h, icon, on, replaceChildren } from "./dom";

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
      h("h1", { id: "signin-title" }, "Sign in"),
      h("p", { class: "muted" }, "Paste your PhotoFun access token to see your conversations."),
      this.error,
      h("label", { for: "token" }, "Access token"),
      this.input,
      h("button", { type: "submit", class: "btn primary block" }, "Continue"),
      h(
        "p",
        { class: "muted small" },
        "Developers: ",
        h("code", {}, "photofun token --user NAME"),
        " mints one, and the dev stack prints one when it starts.",
      ),
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
