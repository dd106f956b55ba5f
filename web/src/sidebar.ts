/** The conversation list: new, select, delete, and "show older" for the next page. */

import { button, h, icon, replaceChildren } from "./dom";
import { ago, fullDate, messageCount, toDate } from "./format";
import type { Conversation } from "./gen/photofun/v1/conversation_service_pb";

export interface SidebarActions {
  create(): void;
  select(conversationId: string): void;
  remove(conversation: Conversation): void;
  more(): void;
  reload(): void;
  signOut(): void;
}

export interface SidebarState {
  conversations: Conversation[];
  selectedId: string;
  /** First page still loading. */
  loading: boolean;
  /** Why the first page could not be loaded, in words; "" when it was. */
  error: string;
  /** More pages exist. */
  hasMore: boolean;
  /** The next page is on its way. */
  loadingMore: boolean;
  /** A new conversation is being created. */
  creating: boolean;
  canSignOut: boolean;
}

export class Sidebar {
  readonly el: HTMLElement;
  readonly newButton: HTMLButtonElement;
  private readonly list: HTMLElement;
  private readonly toggle: HTMLButtonElement;
  private readonly foot: HTMLElement;

  constructor(private readonly actions: SidebarActions) {
    this.newButton = button(
      {
        class: "btn primary new-conversation",
        "data-testid": "new-conversation",
        "aria-label": "New conversation",
      },
      [
        icon("plus"),
        h("span", { class: "wide-only" }, "New conversation"),
        h("span", { class: "narrow-only" }, "New"),
      ],
      () => actions.create(),
    );
    this.toggle = button(
      {
        class: "icon-btn list-toggle",
        "aria-label": "Show conversations",
        "aria-expanded": "false",
        "aria-controls": "conversation-panel",
      },
      [icon("chats")],
      () => this.setOpen(!this.isOpen),
    );
    this.list = h("div", { class: "conv-scroll" });
    this.foot = h("div", { class: "sidebar-foot" });
    this.el = h(
      "aside",
      { class: "sidebar" },
      h(
        "div",
        { class: "sidebar-head" },
        h(
          "div",
          { class: "brand" },
          h("span", { class: "logo", "aria-hidden": "true" }, icon("spark")),
          h("span", {}, "PhotoFun ", h("span", { class: "brand-accent" }, "Studio")),
        ),
        this.toggle,
        this.newButton,
      ),
      h(
        "nav",
        { class: "conv-panel", id: "conversation-panel", "aria-label": "Conversations" },
        h("h2", { class: "section-label" }, "Conversations"),
        this.list,
        this.foot,
      ),
    );
    // On narrow screens the list drops down over the page; a tap elsewhere or Esc closes it.
    document.addEventListener("pointerdown", (event) => {
      if (this.isOpen && event.target instanceof Node && !this.el.contains(event.target)) {
        this.setOpen(false);
      }
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) {
        this.setOpen(false);
        this.toggle.focus();
      }
    });
  }

  private get isOpen(): boolean {
    return this.el.classList.contains("open");
  }

  /** Opens or closes the list on narrow screens (on wide screens it is always shown). */
  setOpen(open: boolean): void {
    this.el.classList.toggle("open", open);
    this.toggle.setAttribute("aria-expanded", String(open));
    this.toggle.setAttribute("aria-label", open ? "Hide conversations" : "Show conversations");
  }

  render(state: SidebarState): void {
    this.newButton.disabled = state.creating;
    replaceChildren(this.list, ...this.body(state));
    replaceChildren(
      this.foot,
      state.canSignOut && button({ class: "link-btn" }, ["Sign out"], () => this.actions.signOut()),
    );
  }

  private body(state: SidebarState): HTMLElement[] {
    if (state.loading) {
      const row = (): HTMLElement =>
        h(
          "li",
          { class: "conv-skeleton" },
          h("span", { class: "skeleton" }),
          h("span", { class: "skeleton short" }),
        );
      return [h("ul", { class: "conv-list", "aria-busy": "true" }, row(), row(), row())];
    }
    if (state.conversations.length === 0 && state.error !== "") {
      return [
        h(
          "div",
          { class: "conv-empty" },
          h("p", {}, "Your conversations could not be loaded."),
          h("p", { class: "muted small" }, state.error),
          button({ class: "btn ghost small more" }, [icon("retry"), "Try again"], () =>
            this.actions.reload(),
          ),
        ),
      ];
    }
    if (state.conversations.length === 0) {
      return [
        h(
          "div",
          { class: "conv-empty" },
          h("p", {}, "No conversations yet — start one."),
          h(
            "p",
            { class: "muted small" },
            "Each conversation keeps your prompts and pictures together.",
          ),
        ),
      ];
    }
    const items = state.conversations.map((c) =>
      this.item(c, c.conversationId === state.selectedId),
    );
    const out: HTMLElement[] = [h("ul", { class: "conv-list" }, ...items)];
    if (state.hasMore) {
      out.push(
        button(
          { class: "btn ghost small more", disabled: state.loadingMore },
          [state.loadingMore ? "Loading…" : "Show older"],
          () => this.actions.more(),
        ),
      );
    }
    return out;
  }

  private item(c: Conversation, selected: boolean): HTMLElement {
    const title = conversationTitle(c);
    const updated = toDate(c.updateTime);
    const meta = [messageCount(c.messageCount), ago(updated)].filter((x) => x !== "").join(" · ");
    const open = button(
      {
        class: "conv-open",
        "aria-current": selected ? "page" : undefined,
        title: fullDate(updated),
      },
      [h("span", { class: "conv-title" }, title), h("span", { class: "conv-meta" }, meta)],
      () => {
        this.setOpen(false);
        this.actions.select(c.conversationId);
      },
    );
    const remove = button(
      { class: "icon-btn conv-delete", "aria-label": `Delete “${title}”`, title: "Delete" },
      [icon("trash")],
      () => this.actions.remove(c),
    );
    return h(
      "li",
      {
        class: selected ? "conv-item selected" : "conv-item",
        "data-testid": "conversation-item",
        "data-id": c.conversationId,
      },
      open,
      remove,
    );
  }
}

/** The title to show; the server fills it from the first message, until then a placeholder. */
export function conversationTitle(c: Conversation): string {
  return c.title.trim() !== "" ? c.title.trim() : "New conversation";
}
