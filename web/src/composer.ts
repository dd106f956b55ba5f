/**
 * The prompt box: an attached picture, text, style, language, send. Enter sends, Shift+Enter
 * adds a line; a picture comes from the paperclip, a drop, or a paste.
 */

import {
  Attachment,
  type Explain,
  type ResultSource,
  STUDIO_IMAGE_TYPE,
  type Uploader,
} from "./attachment";
import { button, h, icon, on, replaceChildren } from "./dom";
import { LANGUAGES, languageWords, STYLES } from "./format";
import { formatNumber, plural, t } from "./i18n";
import { ACCEPTED_TYPES } from "./image-file";
import { takeKeptDraft } from "./language-switch";

const PLACEHOLDER = t("composer.placeholder");
// A picture is sent with words saying what to do with it (the server needs a prompt): the
// placeholder asks for them, and the hint says why Send waits.
const PLACEHOLDER_WITH_IMAGE = t("composer.placeholderWithImage");
const HINT = t("composer.hint");
const HINT_WITH_IMAGE = t("composer.hintWithImage");

/** The server's limit (SendMessageRequest.prompt, in characters); the counter shows near it. */
const MAX_PROMPT = 2000;
/** From here on the counter shows (on phones too). */
const NEAR_PROMPT = MAX_PROMPT * 0.8;

export interface Draft {
  prompt: string;
  style: string;
  lang: string;
  /** The attached picture's Media Service URL, or "" for none. */
  imageUrl: string;
  /** The result the attached picture is, when attached from one ("Edit this picture"). */
  source?: ResultSource | undefined;
}

/** What the composer needs from the app besides sending. */
export interface ComposerHooks {
  /** `submit` resolves true when the message was accepted (the box is then cleared). */
  submit(draft: Draft): Promise<boolean>;
  upload: Uploader;
  explain: Explain;
  /** The attached picture changed (the result the next message continues from may have). */
  attachmentChanged(): void;
}

export class Composer {
  readonly el: HTMLFormElement;
  readonly input: HTMLTextAreaElement;
  private readonly style: HTMLSelectElement;
  private readonly lang: HTMLSelectElement;
  private readonly send: HTMLButtonElement;
  private readonly counter: HTMLElement;
  private readonly hint: HTMLElement;
  private readonly attachment: Attachment;
  /** "Continuing from …" with its ×: the result picked for the next message, if any. */
  private readonly continuation: HTMLElement;
  private busy = false;

  constructor(private readonly hooks: ComposerHooks) {
    this.attachment = new Attachment({
      upload: hooks.upload,
      explain: hooks.explain,
      changed: () => {
        this.refresh();
        hooks.attachmentChanged();
      },
      removed: () => this.input.focus(),
    });
    this.continuation = h("div", {
      class: "continuation",
      "data-testid": "continuation",
      hidden: true,
    });
    this.input = h("textarea", {
      id: "prompt",
      class: "prompt",
      rows: 1,
      "data-testid": "prompt-input",
      placeholder: PLACEHOLDER,
      "aria-describedby": "composer-hint",
      autocomplete: "off",
    });
    this.style = select(
      "style",
      "style-select",
      STYLES.map(([value, label]) => [value, t(label)] as const),
    );
    this.lang = select(
      "lang",
      "lang-select",
      LANGUAGES.map((code) => [code, languageWords(code)] as const),
    );
    this.counter = h("span", { class: "counter", "aria-live": "polite" });
    this.hint = h("span", { class: "hint", id: "composer-hint" }, HINT);
    this.send = h(
      "button",
      { type: "submit", class: "btn primary send", "data-testid": "send-button", disabled: true },
      h("span", { class: "send-label" }, t("composer.send")),
      icon("send"),
    );
    // The button is the control people use; the input only opens the system's file picker.
    const picker = h("input", {
      type: "file",
      accept: ACCEPTED_TYPES.join(","),
      class: "visually-hidden",
      tabindex: -1,
      "aria-hidden": "true",
      "data-testid": "attach-input",
    });
    on(picker, "change", () => {
      const file = picker.files?.[0];
      // Cleared so that choosing the same file again is a change too.
      picker.value = "";
      if (file !== undefined) this.attachFile(file);
    });
    const attach = button(
      {
        class: "icon-btn attach",
        "aria-label": t("composer.attach"),
        title: t("composer.attachTitle"),
        "data-testid": "attach-button",
      },
      [icon("paperclip")],
      () => picker.click(),
    );
    this.el = h(
      "form",
      { class: "composer", "aria-label": t("composer.label") },
      this.continuation,
      this.attachment.el,
      h("label", { class: "visually-hidden", for: "prompt" }, t("composer.promptLabel")),
      this.input,
      h(
        "div",
        { class: "composer-bar" },
        attach,
        picker,
        h("label", { class: "field" }, h("span", {}, t("composer.style")), this.style),
        h("label", { class: "field" }, h("span", {}, t("composer.language")), this.lang),
        this.hint,
        this.counter,
        this.send,
      ),
    );
    on(this.input, "input", () => {
      // Typing is moving on: an old "not a picture" note has been read.
      this.attachment.dismissNote();
      this.refresh();
    });
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
    on(this.el, "paste", (event) => this.paste(event));
    this.acceptDrops(this.el);
    // Words typed before the page reloaded in another language.
    const kept = takeKeptDraft();
    if (kept !== "") {
      this.input.value = kept;
      this.refresh();
    }
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

  /**
   * Attaches a picture the studio made ("Edit this picture") and asks what to do with it;
   * `source` when it is a result of a conversation.
   */
  attachUrl(url: string, name: string, source?: ResultSource): void {
    this.attachment.attachUrl(url, name, source);
    this.input.focus();
  }

  /** The attached picture: none, a result of a conversation, or another picture. */
  get attached(): ResultSource | "other" | undefined {
    if (!this.attachment.present) return undefined;
    return this.attachment.source ?? "other";
  }

  /**
   * Shows which result the next message continues from when the person picked one
   * ("Continuing from the front view", with × to go back to the latest), or nothing.
   */
  setContinuation(pick: { name: string; clear: () => void } | undefined): void {
    this.continuation.hidden = pick === undefined;
    if (pick === undefined) {
      replaceChildren(this.continuation);
      return;
    }
    const hadFocus = this.continuation.contains(document.activeElement);
    replaceChildren(
      this.continuation,
      icon("continue"),
      h(
        "span",
        { class: "continuation-text" },
        `${t("composer.continuing")} `,
        h("strong", {}, pick.name),
      ),
      button(
        {
          class: "icon-btn continuation-clear",
          "aria-label": t("composer.stopContinuing", { name: pick.name }),
          title: t("composer.continueLatest"),
          "data-testid": "continuation-clear",
        },
        [icon("close")],
        () => {
          pick.clear();
          this.input.focus();
        },
      ),
    );
    if (hadFocus) this.input.focus();
  }

  /** Attaches a file (picker, drop, paste); one that is not a picture is refused in words. */
  attachFile(file: File): void {
    this.attachment.attachFile(file);
    this.input.focus();
  }

  /**
   * Lets a picture be dropped anywhere on `area` (the composer itself, the thread): a file, or
   * one of the studio's own pictures dragged from the thread. The area gets the class
   * `dropping` while one is dragged over it.
   */
  acceptDrops(area: HTMLElement): void {
    let depth = 0;
    const carriesFiles = (event: DragEvent): boolean => {
      const types = event.dataTransfer?.types ?? [];
      return types.includes("Files") || types.includes(STUDIO_IMAGE_TYPE);
    };
    const done = (): void => {
      depth = 0;
      area.classList.remove("dropping");
    };
    on(area, "dragenter", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth += 1;
      area.classList.add("dropping");
    });
    on(area, "dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer !== null) event.dataTransfer.dropEffect = "copy";
    });
    on(area, "dragleave", (event) => {
      if (!carriesFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) area.classList.remove("dropping");
    });
    on(area, "drop", (event) => {
      done();
      // An inner area (the composer inside the thread) already took it.
      if (!carriesFiles(event) || event.defaultPrevented) return;
      event.preventDefault();
      const studio = studioImage(event.dataTransfer?.getData(STUDIO_IMAGE_TYPE) ?? "");
      if (studio !== undefined) {
        this.attachUrl(studio.url, studio.name, studio.source);
        return;
      }
      const files = Array.from(event.dataTransfer?.files ?? []);
      const file = files.find((f) => f.type.startsWith("image/")) ?? files[0];
      if (file !== undefined) this.attachFile(file);
    });
    on(area, "dragend", done);
  }

  /** Drops the attached picture (and ends its upload), keeping the words and the menus. */
  clearAttachment(): void {
    this.attachment.clear();
    this.refresh();
  }

  /** Empties the box, drops the picture and resets the menus (the next person starts afresh). */
  clear(): void {
    this.input.value = "";
    this.style.selectedIndex = 0;
    this.lang.selectedIndex = 0;
    this.attachment.clear();
    this.refresh();
  }

  /** A pasted picture is attached; pasted text goes in the box as usual. */
  private paste(event: ClipboardEvent): void {
    const data = event.clipboardData;
    if (data === null || data.files.length === 0) return;
    const files = Array.from(data.files);
    const file = files.find((f) => f.type.startsWith("image/")) ?? files[0];
    if (file === undefined) return;
    // Copying from some apps puts the text and a picture of it on the clipboard: keep the text.
    if (data.getData("text/plain") === "") event.preventDefault();
    this.attachFile(file);
  }

  private async trySend(): Promise<void> {
    const prompt = this.input.value.trim();
    if (prompt === "" || this.busy || this.attachment.blocked) return;
    // Enter sends too: a message the server would refuse is not sent (the hint says why).
    if (promptLength(prompt) > MAX_PROMPT) return;
    this.busy = true;
    this.refresh();
    try {
      const imageUrl = this.attachment.imageUrl;
      const ticket = this.attachment.ticket;
      const draft: Draft = {
        prompt,
        style: this.style.value,
        lang: this.lang.value,
        imageUrl,
        source: this.attachment.source,
      };
      const accepted = await this.hooks.submit(draft);
      if (accepted) {
        // Unless the person typed on, or attached another picture, while it was on its way.
        if (this.input.value.trim() === prompt) this.input.value = "";
        this.attachment.clearIfSent(ticket);
      }
    } finally {
      this.busy = false;
      this.refresh();
      this.input.focus();
    }
  }

  private refresh(): void {
    const length = promptLength(this.input.value.trim());
    const over = length - MAX_PROMPT;
    const attachment = this.attachment;
    this.send.disabled = length === 0 || over > 0 || this.busy || attachment.blocked;
    this.send.setAttribute("aria-busy", String(this.busy));
    const near = length > NEAR_PROMPT;
    this.counter.textContent = near ? t("composer.counter", { length, limit: MAX_PROMPT }) : "";
    this.counter.classList.toggle("over", over > 0);
    this.el.classList.toggle("near-limit", near);
    // Says why Send is off: too long, the picture not ready, or words missing for it.
    let hint = HINT;
    if (over > 0) {
      hint = plural("composer.over", over, { limit: formatNumber(MAX_PROMPT) });
    } else if (attachment.uploading) hint = t("composer.uploading");
    else if (attachment.blocked) {
      hint = t(attachment.retryable ? "composer.retryOrRemove" : "composer.remove");
    } else if (attachment.present && length === 0) hint = HINT_WITH_IMAGE;
    this.hint.textContent = hint;
    // Phones hide the usual hint for room; a reason why Send is off is shown there too.
    this.el.classList.toggle("has-reason", hint !== HINT);
    this.hint.classList.toggle("warn", over > 0);
    this.el.classList.toggle("over-limit", over > 0);
    this.input.setAttribute("aria-invalid", String(over > 0));
    this.input.placeholder = attachment.present ? PLACEHOLDER_WITH_IMAGE : PLACEHOLDER;
    this.el.classList.toggle("with-attachment", attachment.present);
    // Grow with the text up to a limit (CSS caps the height).
    this.input.style.height = "auto";
    this.input.style.height = `${this.input.scrollHeight}px`;
  }
}

/** Characters as the server counts them (code points: an emoji is one, not two). */
function promptLength(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** The `{url, name, source}` of a dragged studio picture, or undefined for anything else. */
function studioImage(
  json: string,
): { url: string; name: string; source: ResultSource | undefined } | undefined {
  if (json === "") return undefined;
  try {
    const { url, name, source } = JSON.parse(json) as Record<string, unknown>;
    if (typeof url !== "string" || url === "") return undefined;
    return {
      url,
      name: typeof name === "string" && name !== "" ? name : t("common.picture"),
      source: resultSource(source),
    };
  } catch {
    return undefined;
  }
}

function resultSource(value: unknown): ResultSource | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { conversationId, messageId, imageIndex } = value as Record<string, unknown>;
  if (typeof conversationId !== "string" || typeof messageId !== "string") return undefined;
  if (typeof imageIndex !== "number" || !Number.isInteger(imageIndex) || imageIndex < 0) {
    return undefined;
  }
  return { conversationId, messageId, imageIndex };
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
