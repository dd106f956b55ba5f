/** The main area: the open conversation's heading and turns, or a welcome/empty/loading view. */

import { button, h, icon, replaceChildren } from "./dom";
import { messageCount } from "./format";
import { type Key, t } from "./i18n";
import type { MessageView } from "./message-view";

const SUGGESTIONS: readonly Key[] = [
  "suggestion.1",
  "suggestion.2",
  "suggestion.3",
  "suggestion.4",
];

/** The top of a thread: nothing earlier, earlier messages to show, or those being loaded. */
export type Earlier = "none" | "more" | "loading";

export class ThreadView {
  readonly el: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly scroller: HTMLElement;
  private readonly inner: HTMLElement;
  /** One button for the whole life of the page, so it keeps focus while it loads. */
  private readonly earlierButton: HTMLButtonElement;
  /**
   * Following the end: set when the page scrolls there, cleared only when the person scrolls
   * away. A smooth scroll still under way is not "at the end" yet, so `atEnd` alone would let
   * a growing reply escape below the fold.
   */
  private following = true;
  /** Until when scroll events are the page's own smooth scroll, not the person's. */
  private autoScrollUntil = 0;

  /** `toast` (the error banner) sits just above the composer, covering neither heading nor it. */
  constructor(
    composer: HTMLElement,
    toast: HTMLElement,
    private readonly suggest: (text: string) => void,
    loadEarlier: () => void,
  ) {
    this.earlierButton = button({ class: "btn ghost small earlier" }, [], loadEarlier);
    this.heading = h("header", { class: "main-head" });
    this.inner = h("div", { class: "thread-inner" });
    this.scroller = h("div", { class: "thread", tabindex: "-1" }, this.inner);
    // Scrolling by the person (wheel, touch, keys, scrollbar), not by scrollToEnd: follow the
    // end only if that is where they are.
    const settle = (): void => {
      requestAnimationFrame(() => (this.following = this.atEnd));
    };
    for (const kind of ["wheel", "touchmove", "keydown"]) {
      this.scroller.addEventListener(kind, settle, { passive: true });
    }
    this.scroller.addEventListener(
      "scroll",
      () => {
        if (performance.now() > this.autoScrollUntil) settle();
      },
      { passive: true },
    );
    this.el = h(
      "main",
      { class: "main" },
      this.heading,
      this.scroller,
      h("div", { class: "composer-wrap" }, toast, composer),
    );
  }

  setHeading(title: string, count: number | undefined): void {
    replaceChildren(
      this.heading,
      h("h1", { class: "main-title" }, title),
      count !== undefined && h("span", { class: "muted small" }, messageCount(count)),
    );
  }

  /** No conversation open: a greeting with prompts to try. */
  showWelcome(): void {
    this.setHeading(t("thread.welcome"), undefined);
    replaceChildren(
      this.inner,
      h(
        "div",
        { class: "welcome" },
        h("span", { class: "welcome-icon", "aria-hidden": "true" }, icon("spark")),
        h("h2", {}, t("welcome.title")),
        h("p", { class: "muted" }, t("welcome.text")),
        this.suggestions(SUGGESTIONS.map((key) => t(key))),
      ),
    );
  }

  /** Prompts to try; a click puts one in the composer. */
  private suggestions(texts: string[]): HTMLElement {
    return h(
      "div",
      { class: "suggestions" },
      ...texts.map((text) => button({ class: "suggestion" }, [text], () => this.suggest(text))),
    );
  }

  /** The conversation's messages are on their way; `sent` are turns already sent meanwhile. */
  showLoading(sent: MessageView[] = []): void {
    replaceChildren(
      this.inner,
      h(
        "div",
        {
          class: "thread-loading",
          "aria-busy": "true",
          "aria-label": t("thread.loading"),
          "data-stays": "",
        },
        h("span", { class: "skeleton bubble-skeleton" }),
        h("span", { class: "skeleton card-skeleton" }),
      ),
      ...sent.map((view) => view.el),
    );
  }

  showEmpty(): void {
    replaceChildren(
      this.inner,
      h(
        "div",
        { class: "welcome compact" },
        h("h2", {}, t("thread.blankTitle")),
        h("p", { class: "muted" }, t("thread.blankText")),
        this.suggestions(SUGGESTIONS.map((key) => t(key))),
      ),
    );
  }

  /**
   * A conversation that could not be opened, with a way to try again; `sent` are turns sent
   * while it was loading, kept below so no message disappears.
   */
  showProblem(text: string, retry: () => void, sent: MessageView[] = []): void {
    replaceChildren(
      this.inner,
      h(
        "div",
        { class: "welcome compact", "data-stays": "" },
        h("h2", {}, t("thread.openFailed")),
        h("p", { class: "muted" }, text),
        button({ class: "btn ghost" }, [icon("retry"), t("common.tryAgain")], retry),
      ),
      ...sent.map((view) => view.el),
    );
  }

  /** The newest turns, oldest at the top, scrolled to the end. */
  showMessages(views: MessageView[], earlier: Earlier): void {
    if (views.length === 0) {
      this.showEmpty();
      return;
    }
    this.setEarlier(earlier);
    replaceChildren(this.inner, this.earlierButton, ...views.map((view) => view.el));
    this.scrollToEnd(false);
  }

  /** Older turns above the ones shown, leaving what the reader sees where it was. */
  prepend(views: MessageView[], earlier: Earlier): void {
    const s = this.scroller;
    const fromBottom = s.scrollHeight - s.scrollTop;
    const hadFocus = document.activeElement === this.earlierButton;
    this.earlierButton.after(...views.map((view) => view.el));
    this.setEarlier(earlier);
    s.scrollTop = s.scrollHeight - fromBottom;
    // A hidden button drops focus to the page; keep it in the thread instead.
    if (hadFocus && earlier === "none") s.focus({ preventScroll: true });
  }

  setEarlier(earlier: Earlier): void {
    const b = this.earlierButton;
    const loading = earlier === "loading";
    b.hidden = earlier === "none";
    // Not `disabled`: that would drop keyboard focus; the app ignores clicks while loading.
    b.setAttribute("aria-disabled", String(loading));
    b.setAttribute("aria-busy", String(loading));
    replaceChildren(
      b,
      loading && h("span", { class: "spinner", "aria-hidden": "true" }),
      t(loading ? "thread.loadingEarlier" : "thread.showEarlier"),
    );
  }

  append(view: MessageView): void {
    // The first turn replaces a welcome; a loading or problem note stays above it.
    if (this.inner.querySelector(".turn") === null) {
      for (const child of Array.from(this.inner.children)) {
        if (!(child instanceof HTMLElement) || child.dataset.stays === undefined) {
          child.remove();
        }
      }
    }
    this.inner.appendChild(view.el);
    this.scrollToEnd(true);
  }

  /** True when the reader is at (or near) the newest message. */
  get atEnd(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  /** True while the view should stay at the end as messages grow. */
  get pinned(): boolean {
    return this.following || this.atEnd;
  }

  scrollToEnd(smooth: boolean): void {
    this.following = true;
    this.autoScrollUntil = performance.now() + (smooth ? 1000 : 100);
    requestAnimationFrame(() => {
      const top = this.scroller.scrollHeight;
      this.scroller.scrollTo({ top, behavior: smooth ? "smooth" : "auto" });
    });
  }
}
