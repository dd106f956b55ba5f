/**
 * The picture attached to the next message: one at a time, shown as a chip above the prompt
 * (thumbnail, name, "Uploading…", an error with Retry, ×). A file from disk is prepared and
 * uploaded; a picture the studio made is attached by its URL as it is.
 */

import { button, h, icon, on, replaceChildren, safeUrl } from "./dom";
import { t } from "./i18n";
import { acceptedType, ImageRefused, prepareImage, refusalText } from "./image-file";

/**
 * The drag data of a picture the studio drew (`{url, name}` as JSON), set when one is dragged,
 * so dropping it on the composer attaches it like "Edit this picture".
 */
export const STUDIO_IMAGE_TYPE = "application/x-photofun-image";

/**
 * A result of a conversation: a message and one of its images (ResultReference, with the
 * conversation it is in). A picture attached from a result carries it, so that a message sent
 * into that same conversation names the result it works on.
 */
export interface ResultSource {
  conversationId: string;
  messageId: string;
  /** Index in the message's `images` (the server's order, not the grid's). */
  imageIndex: number;
}

/** Stores the bytes (UploadImage) and returns the image's URL; throws what the call threw. */
export type Uploader = (data: Uint8Array, filename: string, signal: AbortSignal) => Promise<string>;

/** Describes a failed upload for people: the sentence, and whether Retry can help. */
export type Explain = (err: unknown) => { text: string; retry: boolean };

type State =
  | { kind: "uploading" }
  | { kind: "ready"; url: string }
  | { kind: "failed"; text: string; retry: boolean };

interface Current {
  name: string;
  /** The thumbnail: the local file's object URL, or the attached image's own URL. */
  preview: string | undefined;
  /** Ours to revoke when the attachment goes. */
  objectUrl: string | undefined;
  file: File | undefined;
  /** The conversation's result it is, when attached from one ("Edit this picture"). */
  source: ResultSource | undefined;
  state: State;
  abort: AbortController;
}

/** What the attachment needs from the composer. */
export interface AttachmentHooks {
  upload: Uploader;
  explain: Explain;
  /** Called whenever what the composer may send changes. */
  changed(): void;
  /** The person removed the picture: where keyboard focus goes instead of the page. */
  removed(): void;
}

export class Attachment {
  readonly el: HTMLElement;
  /** Refusals ("not a picture"), said once, outside any chip, with a × to dismiss. */
  private readonly note: HTMLElement;
  private readonly noteText: HTMLElement;
  private readonly chip: HTMLElement;
  private readonly name: HTMLElement;
  /** The state in the chip: "Uploading…", "Ready to send", the error. */
  private readonly status: HTMLElement;
  /**
   * Says the same to screen readers. Always in the page, outside the chip: a live region that
   * appears together with its text (the chip is hidden until a picture is attached) is often
   * not announced, so the first "Uploading…" would be lost.
   */
  private readonly live: HTMLElement;
  private readonly actions: HTMLElement;
  private thumb: HTMLElement;
  private current: Current | undefined;

  constructor(private readonly hooks: AttachmentHooks) {
    this.thumb = h("span", { class: "attachment-thumb" });
    this.name = h("span", { class: "attachment-name" });
    this.status = h("span", { class: "attachment-state" });
    this.live = h("span", {
      class: "visually-hidden",
      role: "status",
      "aria-live": "polite",
      "data-testid": "attachment-live",
    });
    this.actions = h("span", { class: "attachment-actions" });
    this.chip = h(
      "div",
      {
        class: "attachment",
        role: "group",
        "aria-label": t("attachment.label"),
        "data-testid": "attachment",
        hidden: true,
      },
      this.thumb,
      h("span", { class: "attachment-text" }, this.name, this.status),
      this.actions,
    );
    this.noteText = h("span", { class: "attachment-note-text" });
    const dismiss = button(
      {
        class: "icon-btn attachment-note-close",
        "aria-label": t("common.dismiss"),
        "data-testid": "attachment-note-close",
      },
      [icon("close")],
      () => {
        this.say("");
        this.hooks.removed();
      },
    );
    this.note = h(
      "div",
      { class: "attachment-note", role: "alert", "data-testid": "attachment-note", hidden: true },
      this.noteText,
      dismiss,
    );
    this.el = h("div", { class: "attachment-tray" }, this.chip, this.note, this.live);
  }

  /** True when a picture is attached, whatever its state. */
  get present(): boolean {
    return this.current !== undefined;
  }

  /** True while an upload is in flight. */
  get uploading(): boolean {
    return this.current?.state.kind === "uploading";
  }

  /** True when a picture is attached but cannot be sent (uploading, or failed). */
  get blocked(): boolean {
    return this.current !== undefined && this.current.state.kind !== "ready";
  }

  /** True when the upload failed in a way that trying again may mend. */
  get retryable(): boolean {
    const state = this.current?.state;
    return state?.kind === "failed" && state.retry && this.current?.file !== undefined;
  }

  /**
   * Which attachment this is (undefined for none): another attachment is another ticket, even
   * of the same picture, so a message accepted after the person attached again does not take
   * the new one away (`clearIfSent`).
   */
  get ticket(): object | undefined {
    return this.current;
  }

  /** The attached image's URL once it is on the Media Service; "" otherwise. */
  get imageUrl(): string {
    const state = this.current?.state;
    return state?.kind === "ready" ? state.url : "";
  }

  /** Attaches a file from disk, the clipboard or a drop (replacing any other attachment). */
  attachFile(file: File): void {
    if (acceptedType(file) === undefined) {
      // Nothing is uploaded; a picture already attached stays.
      this.say(refusalText(file));
      return;
    }
    this.say("");
    const objectUrl = URL.createObjectURL(file);
    this.replace({
      name: file.name !== "" ? file.name : t("attachment.pasted"),
      preview: objectUrl,
      objectUrl,
      file,
      source: undefined,
      state: { kind: "uploading" },
      abort: new AbortController(),
    });
    void this.send();
  }

  /** The result the attached picture is (see ResultSource), if it is one. */
  get source(): ResultSource | undefined {
    return this.current?.source;
  }

  /** Attaches a picture already on the Media Service (no upload); `source` when a result. */
  attachUrl(url: string, name: string, source?: ResultSource): void {
    this.say("");
    this.replace({
      name,
      preview: safeUrl(url),
      objectUrl: undefined,
      file: undefined,
      source,
      state: { kind: "ready", url },
      abort: new AbortController(),
    });
  }

  /** Removes the attachment (sent, or signed out), ending its upload. */
  clear(): void {
    this.say("");
    this.replace(undefined);
  }

  /**
   * After a message was accepted: removes the attachment if it is still the one sent
   * (`ticket` then; not one attached while the message was on its way), and any old note.
   */
  clearIfSent(ticket: object | undefined): void {
    this.say("");
    if (ticket !== undefined && this.current === ticket) this.clear();
  }

  private replace(next: Current | undefined): void {
    const old = this.current;
    if (old !== undefined) {
      old.abort.abort();
      if (old.objectUrl !== undefined) URL.revokeObjectURL(old.objectUrl);
    }
    this.current = next;
    this.render(true);
    this.announce();
    this.hooks.changed();
  }

  /** Prepares and uploads the current file; its state says how it went. */
  private async send(): Promise<void> {
    const current = this.current;
    if (current?.file === undefined) return;
    const { signal } = current.abort;
    this.setState(current, { kind: "uploading" });
    try {
      const prepared = await prepareImage(current.file);
      if (signal.aborted) return;
      const url = await this.hooks.upload(prepared.data, prepared.filename, signal);
      this.setState(current, { kind: "ready", url });
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ImageRefused) {
        this.setState(current, { kind: "failed", text: err.message, retry: err.retryable });
      } else {
        this.setState(current, { kind: "failed", ...this.hooks.explain(err) });
      }
    }
  }

  private setState(current: Current, state: State): void {
    if (this.current !== current) return; // replaced meanwhile
    current.state = state;
    this.render(false);
    this.announce();
    this.hooks.changed();
  }

  /** Clears a refusal note (the person typed, or dismissed it). */
  dismissNote(): void {
    if (!this.note.hidden) this.say("");
  }

  /** Tells screen readers the attachment's state, in the live region outside the chip. */
  private announce(): void {
    const current = this.current;
    let words = "";
    if (current !== undefined) {
      const state = current.state;
      words =
        state.kind === "uploading"
          ? t("attachment.uploadingNamed", { name: current.name })
          : state.kind === "ready"
            ? t("attachment.readyNamed", { name: current.name, state: readyText(current) })
            : t("attachment.failedNamed", { name: current.name, problem: state.text });
    }
    // The same words again (a second upload of one picture) are still news.
    if (this.live.textContent === words) this.live.textContent = "";
    this.live.textContent = words;
  }

  private say(text: string): void {
    this.note.hidden = text === "";
    this.noteText.textContent = text;
  }

  /**
   * Draws the chip; the thumbnail is redrawn only for a new picture (no flicker). A focused
   * Retry that goes away hands focus to ×, never to the page.
   */
  private render(fresh: boolean): void {
    const current = this.current;
    const chip = this.chip;
    chip.hidden = current === undefined;
    if (current === undefined) {
      replaceChildren(this.thumb);
      replaceChildren(this.name);
      replaceChildren(this.status);
      replaceChildren(this.actions);
      delete chip.dataset.state;
      return;
    }
    const hadFocus = chip.contains(document.activeElement);
    const state = current.state;
    chip.dataset.state = state.kind;
    chip.setAttribute("aria-busy", String(state.kind === "uploading"));
    if (fresh) {
      const preview = current.preview;
      const img = preview !== undefined && h("img", { src: preview, alt: "", decoding: "async" });
      // A file that is not a picture after all shows the picture icon, not a broken image;
      // unless this thumbnail was replaced meanwhile (a late error of an earlier picture).
      if (img !== false) {
        on(img, "error", () => {
          if (this.thumb.contains(img)) replaceChildren(this.thumb, icon("image"));
        });
      }
      replaceChildren(this.thumb, img !== false ? img : icon("image"));
      this.name.textContent = current.name;
      this.name.title = current.name;
    }
    this.thumb.classList.toggle("busy", state.kind === "uploading");
    replaceChildren(
      this.status,
      state.kind === "uploading"
        ? h(
            "span",
            { class: "attachment-status" },
            h("span", { class: "spinner", "aria-hidden": "true" }),
            t("attachment.uploading"),
          )
        : state.kind === "ready"
          ? h("span", { class: "attachment-status ok" }, readyText(current))
          : h(
              "span",
              { class: "attachment-status error", "data-testid": "attachment-error" },
              state.text,
            ),
    );
    const retry =
      state.kind === "failed" && state.retry && current.file !== undefined
        ? button(
            { class: "btn ghost small", "data-testid": "attachment-retry" },
            [icon("retry"), t("common.retry")],
            () => void this.send(),
          )
        : undefined;
    const remove = button(
      {
        class: "icon-btn attachment-remove",
        "aria-label": t("attachment.removeNamed", { name: current.name }),
        title: t("attachment.remove"),
        "data-testid": "attachment-remove",
      },
      [icon("close")],
      () => {
        this.clear();
        this.hooks.removed();
      },
    );
    replaceChildren(this.actions, retry, remove);
    if (hadFocus && !chip.contains(document.activeElement)) (retry ?? remove).focus();
  }
}

/**
 * A file uploaded from this device is "ready to send". One attached by its URL ("Edit this
 * picture", a drag from the thread) is the studio's: said without naming a conversation, since
 * the draft (picture included) stays when the person opens another one or starts a new one.
 */
function readyText(current: Current): string {
  return t(current.file !== undefined ? "attachment.ready" : "attachment.fromStudio");
}
