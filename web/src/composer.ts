/** The prompt box: text, style, language, send. Enter sends, Shift+Enter adds a line. */

import { h, icon, on } from "./dom";
import { LANGUAGES, STYLES } from "./format";

const PLACEHOLDER =
  "Describe a picture… e.g. “2019 Renault Clio blue hatchback, front side rear”";

/** The server's limit (SendMessageRequest.prompt); the counter shows near it. */
const MAX_PROMPT = 2000;

export interface Draft {
  prompt: string;
  style: string;
  lang: string;
}

export class Composer {
  readonly el: HTMLFormElement;
  readonly input: HTMLTextAreaElement;
  private readonly style: HTMLSelectElement;
  private readonly lang: HTMLSelectElement;
  private readonly send: HTMLButtonElement;
  private readonly counter: HTMLElement;
  private busy = false;

  /** `submit` resolves true when the message was accepted (the box is then cleared). */
  constructor(private readonly submit: (draft: Draft) => Promise<boolean>) {
    this.input = h("textarea", {
      id: "prompt",
      class: "prompt",
      rows: 1,
      "data-testid": "prompt-input",
      placeholder: PLACEHOLDER,
      "aria-describedby": "composer-hint",
      autocomplete: "off",
    });
    this.style = select("style", "style-select", STYLES);
    this.lang = select("lang", "lang-select", LANGUAGES);
    this.counter = h("span", { class: "counter", "aria-live": "polite" });
    this.send = h(
      "button",
      { type: "submit", class: "btn primary send", "data-testid": "send-button", disabled: true },
      h("span", { class: "send-label" }, "Send"),
      icon("send"),
    );
    this.el = h(
      "form",
      { class: "composer", "aria-label": "New message" },
      h("label", { class: "visually-hidden", for: "prompt" }, "Describe the picture you want"),
      this.input,
      h(
        "div",
        { class: "composer-bar" },
        h("label", { class: "field" }, h("span", {}, "Style"), this.style),
        h("label", { class: "field" }, h("span", {}, "Language"), this.lang),
        h(
          "span",
          { class: "hint", id: "composer-hint" },
          "Enter to send · Shift+Enter for a new line",
        ),
        this.counter,
        this.send,
      ),
    );
    on(this.input, "input", () => this.refresh());
    on(this.input, "keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.el.requestSubmit();
      }
    });
    on(this.el, "submit", (event) => {
      event.preventDefault();
      void this.trySend();
    });
  }

  /** Puts text in the box (from a suggestion) and focuses it. */
  fill(text: string): void {
    this.input.value = text;
    this.refresh();
    this.input.focus();
  }

  focus(): void {
    this.input.focus();
  }

  /** Empties the box and resets the menus (on sign-out: the next person starts afresh). */
  clear(): void {
    this.input.value = "";
    this.style.selectedIndex = 0;
    this.lang.selectedIndex = 0;
    this.refresh();
  }

  private async trySend(): Promise<void> {
    const prompt = this.input.value.trim();
    if (prompt === "" || this.busy) return;
    this.busy = true;
    this.refresh();
    try {
      const draft = { prompt, style: this.style.value, lang: this.lang.value };
      const accepted = await this.submit(draft);
      if (accepted) this.input.value = "";
    } finally {
      this.busy = false;
      this.refresh();
      this.input.focus();
    }
  }

  private refresh(): void {
    const length = this.input.value.trim().length;
    this.send.disabled = length === 0 || this.busy;
    this.send.setAttribute("aria-busy", String(this.busy));
    this.counter.textContent = length > MAX_PROMPT * 0.8 ? `${length} / ${MAX_PROMPT}` : "";
    this.counter.classList.toggle("over", length > MAX_PROMPT);
    // Grow with the text up to a limit (CSS caps the height).
    this.input.style.height = "auto";
    this.input.style.height = `${this.input.scrollHeight}px`;
  }
}

function select(
  name: string,
  testId: string,
  options: ReadonlyArray<readonly [value: string, label: string]>,
): HTMLSelectElement {
  return h(
    "select",
    { name, "data-testid": testId },
    ...options.map(([value, label]) => h("option", { value }, label)),
  );
}
