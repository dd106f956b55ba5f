/** One turn of a conversation: the user's prompt, then PhotoFun's card that fills in live. */

import { type ResultSource, STUDIO_IMAGE_TYPE } from "./attachment";
import { button, type Child, h, type IconName, icon, on, replaceChildren, safeUrl } from "./dom";
import {
  ago,
  angleKey,
  angleWords,
  capitalize,
  failureText,
  fullDate,
  intentKey,
  intentWords,
  isNewer,
  languageWords,
  statusKey,
  statusWords,
  styleWords,
  toDate,
  took,
} from "./format";
import { Angle, type Failure, Intent } from "./gen/photofun/v1/common_pb";
import {
  type Message,
  type MessageImage,
  MessageStatus,
} from "./gen/photofun/v1/conversation_service_pb";
import { type Key, t } from "./i18n";
import { announce, copyText, downloadImage, imageFileName } from "./image-actions";
import type { LightboxImage } from "./overlays";

/** What the card says about its live connection. */
export type LiveState =
  | { kind: "ok" }
  | { kind: "reconnecting"; attempt: number }
  | { kind: "failed"; text: string; retry: () => void }
  /** Deleted elsewhere (WatchMessage answered NOT_FOUND): it will never finish. */
  | { kind: "deleted" };

export interface MessageActions {
  cancel(messageId: string): void;
  openImage(images: LightboxImage[], index: number): void;
  /**
   * "Edit this picture": attach the image at `url` (named `name`) to the next message; `source`
   * says which result of the conversation it is (none for a picture the person sent).
   */
  editImage(url: string, name: string, source?: ResultSource): void;
  /** "Continue from this": the next message acts on this image of this message. */
  continueFrom(messageId: string, imageIndex: number, name: string): void;
  /**
   * "Regenerate" (no image) or "Variation" (one image): another take of the result, sent as a
   * message of its own; resolves true when it was accepted.
   */
  vary(message: Message, imageIndex: number | undefined): Promise<boolean>;
}

/**
 * This message's result is what the next message continues from: the latest result, or one the
 * person picked (`imageIndex`: which of its images, when one was picked).
 */
export interface Continuation {
  picked: boolean;
  imageIndex: number | undefined;
}

type Part = "analysis" | "reply" | "context" | "failure" | "live" | "foot";

/** Intents that edit an attached picture: their results have no seed to vary. */
const EDITS: ReadonlySet<Intent> = new Set([
  Intent.STYLE_TRANSFER,
  Intent.EDIT_BACKGROUND,
  Intent.ENHANCE_IMAGE,
]);

/** A place in the image grid: one expected view, filled once its image arrives. */
interface Slot {
  key: string;
  angle: Angle;
  image: MessageImage | undefined;
}

interface Tile {
  el: HTMLElement;
  /** What the tile shows: an image URL, "pending", "failed", "missing" or "refused". */
  shows: string;
}

/** The card's header, built once and updated in place so a focused Cancel keeps its focus. */
interface Head {
  el: HTMLElement;
  chip: HTMLElement;
  intent: HTMLElement;
  progress: HTMLElement;
  time: HTMLTimeElement;
  cancel: HTMLButtonElement;
  cancelLabel: HTMLElement;
}

export class MessageView {
  readonly el: HTMLElement;
  private message: Message;
  private readonly card: HTMLElement;
  private readonly head: Head;
  /** The card's parts, created once so the grid (and its images) is never re-inserted. */
  private readonly parts: Record<Part, HTMLElement>;
  private readonly grid: HTMLElement;
  private readonly tiles = new Map<string, Tile>();
  private live: LiveState = { kind: "ok" };
  private cancelling = false;
  private continuation: Continuation | undefined;
  /** A Regenerate or Variation of this message is on its way (clicks are ignored meanwhile). */
  private varying = false;

  constructor(
    message: Message,
    private readonly actions: MessageActions,
  ) {
    this.message = message;
    this.grid = h("div", { class: "grid" });
    this.head = this.buildHead();
    const part = (): HTMLElement => h("div", { class: "part" });
    this.parts = {
      analysis: part(),
      reply: part(),
      context: part(),
      failure: part(),
      live: part(),
      foot: part(),
    };
    const { analysis, reply, context, failure, live, foot } = this.parts;
    this.card = h(
      "section",
      // Focusable from script only: where focus goes when the button it was on goes away.
      {
        class: "card assistant",
        "data-testid": "message-card",
        "data-message-id": message.messageId,
        tabindex: "-1",
      },
      this.head.el,
      analysis,
      reply,
      context,
      this.grid,
      failure,
      live,
      foot,
    );
    this.el = h("article", { class: "turn" }, this.userBubble(), this.card);
    this.render();
  }

  get id(): string {
    return this.message.messageId;
  }

  get status(): MessageStatus {
    return this.message.status;
  }

  /** The message as last shown. */
  get current(): Message {
    return this.message;
  }

  /** True when the message has a result a follow-up can act on (finished, with pictures). */
  get hasResult(): boolean {
    const m = this.message;
    return m.status === MessageStatus.DONE && m.images.length > 0 && this.live.kind !== "deleted";
  }

  /**
   * Shows a newer state of the message. The same message comes from several streams (its own
   * watch, the conversation's), in any order: a state older than the one shown is ignored.
   */
  update(message: Message): void {
    const shown = this.message;
    if (isNewer(shown.updateTime, message.updateTime)) return;
    // A finished message never goes back to processing.
    if (shown.status !== MessageStatus.PROCESSING && message.status === MessageStatus.PROCESSING) {
      return;
    }
    this.message = message;
    if (message.status !== MessageStatus.PROCESSING) this.cancelling = false;
    this.render();
  }

  /** Marks (or unmarks) this message as what the next message continues from. */
  setContinuation(continuation: Continuation | undefined): void {
    const was = this.continuation;
    if (was?.picked === continuation?.picked && was?.imageIndex === continuation?.imageIndex) {
      return;
    }
    this.continuation = continuation;
    this.render();
  }

  setLive(state: LiveState): void {
    if (state.kind === "ok" && this.live.kind === "ok") return;
    this.live = state;
    this.render();
  }

  /** The cancel request failed; offer the button again. */
  cancelFailed(): void {
    this.cancelling = false;
    this.render();
  }

  /** True while pictures may still come: processing, and not deleted meanwhile. */
  private get processing(): boolean {
    return this.message.status === MessageStatus.PROCESSING && this.live.kind !== "deleted";
  }

  private render(): void {
    const m = this.message;
    const active = document.activeElement;
    const focused = active instanceof HTMLElement && this.card.contains(active) ? active : null;
    this.card.dataset.status = statusKey(m.status);
    this.card.setAttribute("aria-busy", String(this.processing));
    this.renderGrid();
    this.grid.hidden = this.tiles.size === 0;
    this.renderHead();
    this.markContinuation();
    this.show("analysis", this.analysis());
    this.show("reply", m.reply.trim() !== "" && h("p", { class: "reply" }, m.reply));
    this.show("context", this.contextNote());
    this.show("failure", this.failure());
    this.show("live", this.liveNote());
    this.show("foot", this.footer());
    // A button that went away (Cancel once finished, Retry once reconnected) would drop
    // keyboard focus to the page; keep it on the card instead.
    if (focused !== null && (!focused.isConnected || focused.closest("[hidden]") !== null)) {
      // Regenerate is rebuilt when its state changes: focus goes to the new one.
      const again = focused.classList.contains("regenerate")
        ? this.card.querySelector<HTMLElement>(".regenerate")
        : null;
      (again ?? this.card).focus({ preventScroll: true });
    }
  }

  /** Replaces a part's content only when it changed, so nothing in it loses focus needlessly. */
  private show(part: Part, content: HTMLElement | false): void {
    const slot = this.parts[part];
    slot.hidden = content === false;
    const current = slot.firstElementChild;
    if (content === false) {
      if (current !== null) replaceChildren(slot);
    } else if (current === null || !current.isEqualNode(content)) {
      replaceChildren(slot, content);
    }
  }

  private buildHead(): Head {
    const chip = h("span", { class: "chip" });
    const intent = h("span", { class: "intent", "data-testid": "intent" });
    const progress = h("span", { class: "progress muted small" });
    const time = h("time", { class: "muted small" });
    const cancelLabel = h("span", {});
    const cancel = button({ class: "btn ghost small" }, [icon("stop"), cancelLabel], () => {
      // Clicks while cancelling are ignored rather than `disabled`, which would drop focus.
      if (this.cancelling || !this.processing) return;
      this.cancelling = true;
      this.render();
      this.actions.cancel(this.message.messageId);
    });
    const el = h(
      "header",
      { class: "card-head" },
      h("span", { class: "avatar", "aria-hidden": "true" }, icon("spark")),
      chip,
      intent,
      h("span", { class: "spacer" }),
      progress,
      time,
      cancel,
    );
    return { el, chip, intent, progress, time, cancel, cancelLabel };
  }

  private renderHead(): void {
    const m = this.message;
    const { chip, intent, time, cancel, cancelLabel } = this.head;
    const deleted = this.live.kind === "deleted";
    chip.className = `chip status-${deleted ? "deleted" : statusKey(m.status).toLowerCase()}`;
    replaceChildren(
      chip,
      this.processing && h("span", { class: "spinner", "aria-hidden": "true" }),
      deleted ? t("message.deleted") : statusWords(m.status),
    );
    // "Reading your request…" only while it is still being read.
    const unread = m.intent === Intent.UNSPECIFIED && !this.processing;
    setText(intent, unread ? "" : intentWords(m.intent));
    if (unread) delete intent.dataset.intent;
    else intent.dataset.intent = intentKey(m.intent);
    const ready = this.processing ? progress(m) : "";
    this.head.progress.hidden = ready === "";
    setText(this.head.progress, ready);
    const created = toDate(m.createTime);
    time.hidden = created === undefined;
    if (created !== undefined) {
      time.dateTime = created.toISOString();
      time.title = fullDate(created);
      setText(time, ago(created));
    }
    cancel.hidden = !this.processing;
    cancel.setAttribute("aria-disabled", String(this.cancelling));
    setText(cancelLabel, t(this.cancelling ? "message.cancelling" : "common.cancel"));
  }

  /** Refined prompt and keywords, or a shimmer while the prompt is being read. */
  private analysis(): HTMLElement | false {
    const m = this.message;
    if (m.intent === Intent.UNSPECIFIED && m.refinedPrompt === "") {
      if (!this.processing) return false;
      return h(
        "div",
        { class: "skeleton-lines", "aria-label": t("message.reading") },
        h("span", { class: "skeleton" }),
        h("span", { class: "skeleton short" }),
      );
    }
    // For a chat the refined prompt is only the user's text again.
    const showPrompt = m.refinedPrompt !== "" && m.intent !== Intent.CHAT;
    if (!showPrompt && m.keywords.length === 0) return false;
    return h(
      "div",
      { class: "analysis" },
      showPrompt &&
        h(
          "div",
          { class: "refined" },
          h("span", { class: "label" }, t("message.refined")),
          h("p", { "data-testid": "refined-prompt" }, m.refinedPrompt),
        ),
      m.keywords.length > 0 &&
        h(
          "ul",
          { class: "keywords", "aria-label": t("message.keywords") },
          ...m.keywords.map((word) => h("li", {}, word)),
        ),
    );
  }

  /** Updates the grid in place: unchanged tiles (and their loaded images) are kept. */
  private renderGrid(): void {
    const m = this.message;
    const wanted: Tile[] = [];
    for (const slot of slots(m)) {
      // A view the server reported as failed is marked at once, even while others draw.
      const failed = m.failedViews.find(
        (v) => v.angle === slot.angle && v.angle !== Angle.UNSPECIFIED,
      );
      const url = slot.image !== undefined ? safeUrl(slot.image.imageUrl) : undefined;
      let shows: string;
      if (url !== undefined) shows = url;
      else if (slot.image !== undefined) shows = "refused";
      else if (failed !== undefined) shows = "failed";
      else if (this.processing) shows = "pending";
      else if (m.status === MessageStatus.DONE) shows = "missing";
      else continue;
      let tile = this.tiles.get(slot.key);
      if (tile === undefined || tile.shows !== shows) {
        let el: HTMLElement;
        if (slot.image !== undefined && url !== undefined) el = this.imageTile(slot.image, url);
        else if (shows === "refused") el = placeholderTile(slot.angle, false, REFUSED);
        else el = placeholderTile(slot.angle, shows === "pending", failed?.failure);
        tile = { el, shows };
        this.tiles.set(slot.key, tile);
      }
      wanted.push(tile);
    }
    const kept = new Set(wanted);
    for (const [key, tile] of this.tiles) if (!kept.has(tile)) this.tiles.delete(key);
    this.grid.classList.toggle("single", wanted.length === 1);
    // Moving an existing node keeps its image; only new tiles are created.
    wanted.forEach((tile, i) => {
      const current = this.grid.children[i] ?? null;
      if (current !== tile.el) this.grid.insertBefore(tile.el, current);
    });
    while (this.grid.children.length > wanted.length) this.grid.lastElementChild?.remove();
  }

  /**
   * Marks the card, and the picked picture's tile, as what the next message continues from;
   * offers Variation once the result is done.
   */
  private markContinuation(): void {
    const c = this.continuation;
    if (c === undefined) delete this.card.dataset.continues;
    else this.card.dataset.continues = c.picked ? "picked" : "last";
    const canVary = this.canVary;
    for (const tile of this.tiles.values()) {
      const vary = tile.el.querySelector<HTMLElement>(".vary-action");
      if (vary !== null) vary.hidden = !canVary;
      const index = tile.el.dataset.index;
      const picked = c?.picked === true && index !== undefined && Number(index) === c.imageIndex;
      tile.el.classList.toggle("picked", picked);
      if (picked) tile.el.dataset.picked = "true";
      else delete tile.el.dataset.picked;
    }
  }

  /** "Next message continues from this", on the card whose result that is. */
  private contextNote(): HTMLElement | false {
    const c = this.continuation;
    if (c === undefined) return false;
    const image = c.imageIndex !== undefined ? this.message.images[c.imageIndex] : undefined;
    const which = c.picked && image !== undefined ? viewPhrase(this.message, image) : "";
    return h(
      "p",
      { class: `continues${c.picked ? " picked" : ""}`, "data-testid": "continues-from" },
      icon("continue"),
      h("span", {}, t("message.continuesFromThis")),
      which !== "" && h("span", { class: "continues-which" }, t("message.asPicked", { which })),
    );
  }

  /** Where the image is in the message's `images` (the server's order), or -1. */
  private indexOf(imageUrl: string): number {
    return this.message.images.findIndex((image) => image.imageUrl === imageUrl);
  }

  /** This image as a result of its conversation (for a reference to it). */
  private sourceOf(imageUrl: string): ResultSource | undefined {
    const imageIndex = this.indexOf(imageUrl);
    if (imageIndex < 0) return undefined;
    const { conversationId, messageId } = this.message;
    return { conversationId, messageId, imageIndex };
  }

  /** Regenerate (no image) or Variation (an image): one at a time per message. */
  private async vary(imageUrl: string | undefined): Promise<void> {
    if (this.varying) return;
    const imageIndex = imageUrl === undefined ? undefined : this.indexOf(imageUrl);
    if (imageIndex === -1) return;
    this.varying = true;
    this.render();
    try {
      await this.actions.vary(this.message, imageIndex);
    } finally {
      this.varying = false;
      this.render();
    }
  }

  /** True when another take of this result can be asked for (not of an edit: it has no seed). */
  private get canVary(): boolean {
    return this.hasResult && !EDITS.has(this.message.intent);
  }

  /** A drawn view; `url` is its address, already passed through safeUrl. */
  private imageTile(image: MessageImage, url: string): HTMLElement {
    const m = this.message;
    const img = h("img", {
      src: url,
      alt: altText(m, image),
      width: image.width || undefined,
      height: image.height || undefined,
      decoding: "async",
      "data-testid": "angle-image",
      "data-angle": angleKey(image.angle),
      "data-seed": String(image.seed),
    });
    const frame = h("span", { class: "tile-frame" }, img);
    on(img, "load", () => frame.classList.add("loaded"));
    on(img, "error", () => frame.classList.add("broken"));
    const label = viewLabel(m, image);
    const name = imageName(m, image);
    // Dropped on the composer, it is attached as "Edit this picture" would.
    on(img, "dragstart", (event) => {
      const source = this.sourceOf(image.imageUrl);
      event.dataTransfer?.setData(
        STUDIO_IMAGE_TYPE,
        JSON.stringify({ url: image.imageUrl, name, source }),
      );
    });
    const tile = h(
      "figure",
      { class: "tile arrived" },
      button(
        { class: "tile-open", "aria-label": t("tile.openLarge", { the: openName(m, image) }) },
        [frame],
        () => this.openImage(image.imageUrl),
      ),
      button(
        {
          class: "tile-edit",
          "aria-label": t("tile.editNamed", { name }),
          title: t("image.edit"),
          "data-testid": "edit-image",
        },
        [icon("wand"), h("span", {}, t("tile.edit"))],
        () => this.actions.editImage(image.imageUrl, name, this.sourceOf(image.imageUrl)),
      ),
      // The provider is for people debugging: it is in the viewer's details, not on every tile.
      h(
        "figcaption",
        {},
        h("span", { class: "angle" }, label),
        image.seed !== 0 &&
          // Only some providers redraw the same image from a seed; for the others it is a hint.
          h(
            "span",
            {
              class: "seed",
              "data-reproducible": image.seedReproducible,
              title: t(image.seedReproducible ? "tile.seedReproducible" : "tile.seedHint"),
            },
            t(image.seedReproducible ? "tile.seed" : "tile.seedApprox", {
              seed: String(image.seed),
            }),
          ),
      ),
      this.tileActions(image, url),
    );
    const index = this.indexOf(image.imageUrl);
    if (index >= 0) tile.dataset.index = String(index);
    // A lone picture is shown whole, in its own shape (see .grid.single in styles.css).
    if (image.width > 0 && image.height > 0) {
      tile.style.setProperty("--ratio", String(image.width / image.height));
    }
    return tile;
  }

  /** Continue from this, Variation, Copy seed and Download, under a drawn view. */
  private tileActions(image: MessageImage, url: string): HTMLElement {
    const m = this.message;
    const the = openName(m, image);
    const variation = actionButton(
      "shuffle",
      t("tile.variation"),
      t("tile.variationLabel", { the }),
      "variation",
      () => void this.vary(image.imageUrl),
    );
    variation.hidden = !this.canVary;
    variation.classList.add("vary-action");
    const copy =
      image.seed !== 0 &&
      actionButton(
        "copy",
        t("tile.copySeed"),
        t("tile.copySeedLabel", { the, seed: String(image.seed) }),
        "copy-seed",
        () => void this.copySeed(copy as HTMLButtonElement, image.seed, the),
      );
    return h(
      "div",
      { class: "tile-actions", role: "group", "aria-label": t("tile.actions", { the }) },
      actionButton(
        "continue",
        t("tile.continue"),
        t("tile.continueLabel", { the }),
        "continue-from",
        () => {
          const index = this.indexOf(image.imageUrl);
          if (index >= 0) this.actions.continueFrom(m.messageId, index, imageName(m, image));
        },
      ),
      variation,
      copy,
      actionButton(
        "download",
        t("tile.download"),
        t("tile.downloadLabel", { the }),
        "download-image",
        () => void this.download(image, url, the),
      ),
    );
  }

  private async copySeed(button: HTMLButtonElement, seed: number, the: string): Promise<void> {
    const copied = await copyText(String(seed));
    const words = t(copied ? "tile.seedCopied" : "tile.seedNotCopied", { seed: String(seed) });
    button.dataset.copied = String(copied);
    button.title = words;
    replaceChildren(
      button,
      icon(copied ? "check" : "alert"),
      h("span", { class: "action-done" }, t(copied ? "tile.copied" : "tile.notCopied")),
    );
    announce(copied ? t("tile.copiedAnnounce", { words, the }) : t("sentence", { text: words }));
    window.setTimeout(() => {
      delete button.dataset.copied;
      button.title = t("tile.copySeed");
      replaceChildren(button, icon("copy"));
    }, 2500);
  }

  private async download(image: MessageImage, url: string, the: string): Promise<void> {
    const name = imageFileName(this.message, image);
    const how = await downloadImage(url, name);
    announce(
      how === "saved"
        ? t("tile.downloading", { name })
        : capitalize(t("tile.openedInTab", { the })),
    );
  }

  /**
   * Opens the lightbox on one image, with every shown image of the message to step through in
   * the grid's order (the expected angles), not the order they arrived in.
   */
  private openImage(imageUrl: string): void {
    const shown: LightboxImage[] = [];
    let index = 0;
    for (const { image } of slots(this.message)) {
      if (image === undefined) continue;
      const url = safeUrl(image.imageUrl);
      if (url === undefined) continue;
      if (image.imageUrl === imageUrl) index = shown.length;
      const name = imageName(this.message, image);
      shown.push({
        ...lightboxImage(this.message, image, url),
        edit: () => this.actions.editImage(image.imageUrl, name, this.sourceOf(image.imageUrl)),
      });
    }
    this.actions.openImage(shown, index);
  }

  /** The person's turn: the picture they attached (if any), their words, style and language. */
  private userBubble(): HTMLElement {
    const m = this.message;
    const extras = [
      m.style !== "" ? styleWords(m.style) : "",
      m.lang !== "" ? languageWords(m.lang) : "",
    ].filter((x) => x !== "");
    return h(
      "div",
      { class: "bubble" },
      m.inputImageUrl !== "" && this.inputImage(m.inputImageUrl),
      h("p", {}, m.prompt),
      extras.length > 0 && h("span", { class: "bubble-meta" }, extras.join(" · ")),
    );
  }

  /** The attached picture, small; a click opens it large (and offers to edit it again). */
  private inputImage(imageUrl: string): HTMLElement {
    const url = safeUrl(imageUrl);
    if (url === undefined) {
      return h(
        "span",
        { class: "bubble-image missing", title: REFUSED_TITLE },
        icon("image"),
        t("input.unavailable"),
      );
    }
    const img = h("img", { src: url, alt: "", decoding: "async", "data-testid": "input-image" });
    const frame = h("span", { class: "bubble-image-frame" }, img);
    on(img, "load", () => frame.classList.add("loaded"));
    on(img, "error", () => frame.classList.add("broken"));
    const open: LightboxImage = {
      url,
      alt: t("input.alt", { prompt: this.message.prompt }),
      title: t("input.title"),
      details: t("input.details"),
      edit: () => this.actions.editImage(imageUrl, t("input.title")),
    };
    return button({ class: "bubble-image", "aria-label": t("input.openLarge") }, [frame], () =>
      this.actions.openImage([open], 0),
    );
  }

  private failure(): HTMLElement | false {
    const m = this.message;
    if (m.status === MessageStatus.FAILED) {
      const why = failureText(m.failure);
      return h(
        "div",
        { class: "failure" },
        icon("alert"),
        h(
          "div",
          {},
          h("strong", {}, `${t("failure.title")} `),
          why !== "" ? why : t("failure.noReason"),
        ),
      );
    }
    if (m.status === MessageStatus.CANCELLED) {
      // The chip already says "Cancelled"; the server's sentence says by whom or why.
      const why = m.failure?.message.trim() ?? "";
      const text = why === "" ? t("cancelled.noReason") : capitalize(why.replace(/\.?$/, "."));
      return h("p", { class: "note", title: m.failure?.reason ?? "" }, text);
    }
    return false;
  }

  private liveNote(): HTMLElement | false {
    const live = this.live;
    if (live.kind === "ok" || this.message.status !== MessageStatus.PROCESSING) return false;
    if (live.kind === "deleted") {
      // Nothing to retry: the message is gone.
      return h("p", { class: "note" }, icon("alert"), t("live.deleted"));
    }
    if (live.kind === "reconnecting") {
      return h(
        "p",
        { class: "note" },
        h("span", { class: "spinner", "aria-hidden": "true" }),
        t("live.reconnecting"),
      );
    }
    return h(
      "div",
      { class: "failure soft" },
      icon("alert"),
      h("div", {}, h("strong", {}, `${t("live.stopped")} `), live.text),
      // Reads the state when clicked: an equal note is kept (with its focus), not rebuilt.
      button({ class: "btn ghost small" }, [icon("retry"), t("common.retry")], () => {
        if (this.live.kind === "failed") this.live.retry();
      }),
    );
  }

  private footer(): HTMLElement | false {
    const m = this.message;
    if (m.status === MessageStatus.PROCESSING) return false;
    const duration = took(toDate(m.createTime), toDate(m.finishTime));
    // The id support asks for (Message.request_id): there when needed, out of the way.
    const wasOpen = this.parts.foot.querySelector("details")?.open === true;
    const details =
      m.requestId !== "" &&
      h(
        "details",
        { class: "request", open: wasOpen },
        h("summary", {}, t("foot.details")),
        h(
          "span",
          {},
          `${t("foot.requestId")} `,
          h("code", { "data-testid": "request-id" }, m.requestId),
        ),
      );
    const regenerate =
      this.canVary &&
      button(
        {
          class: "btn ghost small regenerate",
          "aria-label": t(this.varying ? "foot.regenerating" : "foot.regenerateLabel"),
          "aria-disabled": String(this.varying),
          "data-testid": "regenerate",
        },
        [icon("retry"), t(this.varying ? "foot.regenerating" : "foot.regenerate")],
        () => void this.vary(undefined),
      );
    if (duration === "" && details === false && regenerate === false) return false;
    return h(
      "footer",
      { class: "card-foot" },
      duration !== "" && h("span", {}, t("foot.took", { status: statusWords(m.status), duration })),
      details,
      h("span", { class: "spacer" }),
      regenerate,
    );
  }
}

/** A small button under a picture: an icon, its words in a tooltip and for screen readers. */
function actionButton(
  name: IconName,
  title: string,
  label: string,
  testId: string,
  onClick: () => void,
): HTMLButtonElement {
  const children: Child[] = [icon(name)];
  return button(
    { class: "icon-btn tile-action", title, "aria-label": label, "data-testid": testId },
    children,
    onClick,
  );
}

/** Expected views in the order asked, each with its image once it arrived; then any extras. */
function slots(m: Message): Slot[] {
  const left = [...m.images];
  const take = (match: (image: MessageImage) => boolean): MessageImage | undefined => {
    const i = left.findIndex(match);
    return i < 0 ? undefined : left.splice(i, 1)[0];
  };
  const out: Slot[] = [];
  if (m.expectedAngles.length > 0) {
    // Images may arrive in any order; each goes to the tile of its angle.
    for (const angle of m.expectedAngles) {
      out.push({ key: `angle-${angle}`, angle, image: take((image) => image.angle === angle) });
    }
  } else {
    const count = Math.max(m.expectedImageCount, m.images.length);
    for (let i = 0; i < count; i++) {
      const image = take(() => true);
      out.push({ key: `image-${i}`, angle: image?.angle ?? Angle.UNSPECIFIED, image });
    }
  }
  for (const image of left) {
    out.push({ key: `extra-${image.imageUrl}`, angle: image.angle, image });
  }
  return out;
}

/** What was done to an attached picture, by intent: the label of its result. */
const EDITED: Partial<Record<Intent, readonly [label: Key, phrase: Key]>> = {
  [Intent.STYLE_TRANSFER]: ["edited.styleTransfer", "view.edited.styleTransfer"],
  [Intent.EDIT_BACKGROUND]: ["edited.editBackground", "view.edited.editBackground"],
  [Intent.ENHANCE_IMAGE]: ["edited.enhanceImage", "view.edited.enhanceImage"],
};

/** A tile's label: its angle ("Front"), what was done ("Restyled"), or "Image". */
function viewLabel(m: Message, image: MessageImage): string {
  if (image.angle !== Angle.UNSPECIFIED) return angleWords(image.angle);
  return t(EDITED[m.intent]?.[0] ?? "view.image");
}

/** The view in a phrase: "Front view", "Restyled picture", "Generated image". */
function viewPhrase(m: Message, image: MessageImage): string {
  if (image.angle !== Angle.UNSPECIFIED) {
    return capitalize(t("view.angle", { angle: lowerFirst(angleWords(image.angle)) }));
  }
  return t(EDITED[m.intent]?.[1] ?? "view.generated");
}

/** For "Open … large": "the front view", "the restyled picture", "the generated image". */
function openName(m: Message, image: MessageImage): string {
  return t("view.the", { phrase: lowerFirst(viewPhrase(m, image)) });
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function altText(m: Message, image: MessageImage): string {
  return t("view.alt", { phrase: viewPhrase(m, image), prompt: m.prompt });
}

/** Why a drawn view is not shown: its address is not an http(s) or blob link. */
const REFUSED = "refused";
const REFUSED_TITLE = t("view.refused");

/**
 * How the composer's chip names a drawn view, e.g. "Front view · seed 42" or "Restyled
 * picture": an edit has no seed (the server sends 0), so none is shown.
 */
function imageName(m: Message, image: MessageImage): string {
  const phrase = viewPhrase(m, image);
  return image.seed !== 0 ? t("view.named", { phrase, seed: String(image.seed) }) : phrase;
}

/** A view not (yet) shown: being drawn, not produced (with the server's reason), or refused. */
function placeholderTile(
  angle: Angle,
  pending: boolean,
  failure?: Failure | typeof REFUSED,
): HTMLElement {
  const name = angleWords(angle);
  let note = t("tile.drawing");
  let title = "";
  if (failure === REFUSED) {
    note = t("tile.unavailable");
    title = REFUSED_TITLE;
  } else if (!pending) {
    // Why a view is missing, when the server said (Message.failed_views).
    const why = failure?.message.trim() ?? "";
    note = why !== "" ? t("tile.notProducedWhy", { why }) : t("tile.notProduced");
    title = failure?.reason ?? "";
  }
  return h(
    "figure",
    {
      class: pending ? "tile pending" : "tile missing",
      "data-testid": pending ? false : "missing-view",
    },
    h(
      "span",
      {
        class: "tile-frame",
        role: "img",
        "aria-label": pending
          ? t("tile.beingDrawn", { name })
          : t("tile.missingLabel", { name, note: note.toLowerCase() }),
      },
      pending ? h("span", { class: "spinner large", "aria-hidden": "true" }) : icon("image"),
    ),
    h(
      "figcaption",
      {},
      h("span", { class: "angle" }, name),
      h("span", { class: "tile-note", title }, note),
    ),
  );
}

/** "2 of 3 ready" while images are arriving; "" when no count is known. */
function progress(m: Message): string {
  const expected = Math.max(m.expectedAngles.length, m.expectedImageCount);
  return expected === 0 ? "" : t("progress.ready", { done: m.images.length, total: expected });
}

/** Sets an element's text only when it changed (no needless DOM writes on every update). */
function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** The lightbox entry of an image whose address passed safeUrl; the details name the provider. */
function lightboxImage(m: Message, image: MessageImage, url: string): LightboxImage {
  const size = image.width > 0 && image.height > 0 ? `${image.width}×${image.height}` : "";
  const seed = image.seed !== 0 ? t("tile.seed", { seed: String(image.seed) }) : "";
  const details = [seed, size, image.provider].filter((x) => x !== "").join(" · ");
  return { url, alt: altText(m, image), title: viewLabel(m, image), details };
}
