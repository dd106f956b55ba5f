/** Things that float over the page: the error banner, the image lightbox and the confirm dialog. */

import { button, h, icon, on, replaceChildren, safeUrl } from "./dom";
import { t } from "./i18n";

const BANNER_MS = 9000;

/** One error banner at a time (`data-testid="error-banner"`); a new error replaces the old. */
export class ErrorBanner {
  readonly el: HTMLDivElement;
  private timer = 0;

  constructor() {
    this.el = h("div", {
      class: "banner",
      "data-testid": "error-banner",
      role: "alert",
      hidden: true,
    });
  }

  /** Shows `title` (what failed) and `detail` (why, in words), optionally a hint. */
  show(title: string, detail: string, hint = ""): void {
    window.clearTimeout(this.timer);
    const close = button(
      { class: "icon-btn banner-close", "aria-label": t("common.dismiss") },
      [icon("close")],
      () => this.hide(),
    );
    replaceChildren(
      this.el,
      h("span", { class: "banner-icon" }, icon("alert")),
      h(
        "div",
        { class: "banner-text" },
        h("strong", {}, title),
        h("span", {}, detail),
        hint !== "" && h("span", { class: "banner-hint" }, hint),
      ),
      close,
    );
    this.el.hidden = false;
    this.timer = window.setTimeout(() => this.hide(), BANNER_MS);
  }

  hide(): void {
    window.clearTimeout(this.timer);
    this.el.hidden = true;
  }
}

/** One picture of a lightbox. */
export interface LightboxImage {
  /** Shown only when it is an http(s) or blob link (see safeUrl). */
  url: string;
  alt: string;
  title: string;
  details: string;
  /** "Edit this picture": attaches it to the next message (the viewer closes first). */
  edit?: () => void;
}

/** Shows images large in a modal dialog; Esc or a click outside closes, arrows step through. */
export class Lightbox {
  readonly el: HTMLDialogElement;
  private images: LightboxImage[] = [];
  private index = 0;
  private readonly img: HTMLImageElement;
  private readonly caption: HTMLElement;
  private readonly download: HTMLAnchorElement;
  private readonly edit: HTMLButtonElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;

  constructor() {
    this.img = h("img", { class: "lightbox-img", alt: "" });
    this.caption = h("div", { class: "lightbox-caption" });
    this.download = h(
      "a",
      { class: "btn ghost small", target: "_blank", rel: "noopener" },
      icon("download"),
      t("lightbox.open"),
    );
    this.edit = button(
      { class: "btn primary small", "data-testid": "edit-image" },
      [icon("wand"), t("image.edit")],
      () => {
        const edit = this.images[this.index]?.edit;
        this.close();
        edit?.();
      },
    );
    this.prev = button(
      { class: "icon-btn lightbox-nav prev", "aria-label": t("lightbox.prev") },
      [icon("chevronLeft")],
      () => this.step(-1),
    );
    this.next = button(
      { class: "icon-btn lightbox-nav next", "aria-label": t("lightbox.next") },
      [icon("chevronRight")],
      () => this.step(1),
    );
    const close = button(
      { class: "icon-btn lightbox-close", "aria-label": t("common.close") },
      [icon("close")],
      () => this.el.close(),
    );
    this.el = h(
      "dialog",
      { class: "lightbox", "aria-label": t("lightbox.label") },
      h(
        "div",
        { class: "lightbox-body" },
        h("div", { class: "lightbox-stage" }, this.prev, this.img, this.next),
        h("div", { class: "lightbox-bar" }, this.caption, this.edit, this.download, close),
      ),
    );
    // A click on the backdrop lands on the dialog itself, not on its content.
    on(this.el, "click", (event) => {
      if (event.target === this.el) this.el.close();
    });
    on(this.el, "keydown", (event) => {
      if (event.key === "ArrowLeft") this.step(-1);
      if (event.key === "ArrowRight") this.step(1);
    });
  }

  open(images: LightboxImage[], index: number): void {
    this.images = images;
    this.index = index;
    this.render();
    if (!this.el.open) this.el.showModal();
  }

  /** Closes the viewer if it is open (on sign-out: the next person must not see it). */
  close(): void {
    if (this.el.open) this.el.close();
    this.images = [];
    this.img.removeAttribute("src");
    this.download.removeAttribute("href");
  }

  private step(delta: number): void {
    if (this.images.length < 2) return;
    this.index = (this.index + delta + this.images.length) % this.images.length;
    this.render();
  }

  private render(): void {
    const image = this.images[this.index];
    if (image === undefined) return;
    // Checked here too: whatever the caller passed, no script or data URL reaches the page.
    const url = safeUrl(image.url);
    if (url !== undefined) this.img.src = url;
    else this.img.removeAttribute("src");
    this.img.alt = image.alt;
    if (url !== undefined) this.download.href = url;
    else this.download.removeAttribute("href");
    this.download.hidden = url === undefined;
    this.edit.hidden = url === undefined || image.edit === undefined;
    const total = this.images.length;
    const counter = total > 1 ? t("lightbox.counter", { index: this.index + 1, total }) : "";
    replaceChildren(
      this.caption,
      h("strong", {}, image.title),
      h("span", {}, image.details),
      counter !== "" && h("span", { class: "muted" }, counter),
    );
    this.prev.hidden = this.next.hidden = this.images.length < 2;
  }
}

/** A modal yes/no question; resolves true when the user confirms. */
export function confirmDialog(
  host: HTMLElement,
  title: string,
  text: string,
  confirmLabel: string,
): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "button", class: "btn ghost" }, t("common.cancel"));
    const confirm = h("button", { type: "button", class: "btn danger" }, confirmLabel);
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title),
      h("p", {}, text),
      h("div", { class: "confirm-actions" }, cancel, confirm),
    );
    on(cancel, "click", () => dialog.close("cancel"));
    on(confirm, "click", () => dialog.close("ok"));
    on(dialog, "click", (event) => {
      if (event.target === dialog) dialog.close("cancel");
    });
    on(dialog, "close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    host.appendChild(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
