/** The conversation list: new, select, delete, and "show older" for the next page. */

import { button, h, icon, replaceChildren } from "./dom";
import { ago, fullDate, messageCount, toDate } from "./format";
import type { Conversation } from "./gen/photofun/v1/conversation_service_pb";
import { t } from "./i18n";
import { languageSwitch } from "./language-switch";

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
  private readonly ul: HTMLUListElement;
  private readonly moreButton: HTMLButtonElement;
  private readonly foot: HTMLElement;
  private readonly toggle: HTMLButtonElement;
  /** The rows on screen by conversation id, updated in place on each render. */
  private readonly rows = new Map<string, Row>();

  constructor(private readonly actions: SidebarActions) {
    this.newButton = button(
      {
        class: "btn primary new-conversation",
        "data-testid": "new-conversation",
        "aria-label": t("sidebar.new"),
      },
      [
        icon("plus"),
        h("span", { class: "wide-only" }, t("sidebar.new")),
        h("span", { class: "narrow-only" }, t("sidebar.newShort")),
      ],
      () => actions.create(),
    );
    this.toggle = button(
      {
        class: "icon-btn list-toggle",
        "aria-label": t("sidebar.show"),
        "aria-expanded": "false",
        "aria-controls": "conversation-panel",
      },
      [icon("chats")],
      () => this.setOpen(!this.isOpen),
    );
    // Focusable from script only: where focus goes when the control it was on went away.
    this.list = h("div", { class: "conv-scroll", tabindex: "-1" });
    this.ul = h("ul", { class: "conv-list" });
    this.moreButton = button(
      { class: "btn ghost small more", "data-focus": "more", hidden: true },
      [],
      () => {
        if (this.moreButton.getAttribute("aria-disabled") !== "true") actions.more();
      },
    );
    this.foot = h(
      "div",
      { class: "sidebar-foot", hidden: true },
      button({ class: "link-btn" }, [t("sidebar.signOut")], () => actions.signOut()),
    );
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
        { class: "conv-panel", id: "conversation-panel", "aria-label": t("sidebar.conversations") },
        h("h2", { class: "section-label" }, t("sidebar.conversations")),
        this.list,
        this.foot,
        h("div", { class: "sidebar-lang" }, languageSwitch()),
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
    this.toggle.setAttribute("aria-label", t(open ? "sidebar.hide" : "sidebar.show"));
  }

  /**
   * Shows `state`, updating the rows already there (it runs on every change and every minute),
   * and puts keyboard focus back where it was if a row it was on moved or went away.
   */
  render(state: SidebarState): void {
    const focus = this.focusedPlace();
    this.newButton.disabled = state.creating;
    this.foot.hidden = !state.canSignOut;
    if (state.loading) this.showOnly(this.skeleton());
    else if (state.conversations.length === 0 && state.error !== "") {
      this.showOnly(this.problem(state.error));
    } else if (state.conversations.length === 0) this.showOnly(this.empty());
    else this.showList(state);
    if (focus !== undefined) this.restoreFocus(focus);
  }

  private showOnly(content: HTMLElement): void {
    this.rows.clear();
    replaceChildren(this.ul);
    replaceChildren(this.list, content);
  }

  private showList(state: SidebarState): void {
    if (this.ul.parentElement !== this.list) replaceChildren(this.list, this.ul, this.moreButton);
    const wanted = state.conversations.map((c) => {
      const row = this.rows.get(c.conversationId) ?? this.row(c);
      this.rows.set(c.conversationId, row);
      this.fill(row, c, c.conversationId === state.selectedId);
      return row;
    });
    const kept = new Set(wanted);
    for (const [id, row] of this.rows) if (!kept.has(row)) this.rows.delete(id);
    // Only rows out of place are moved (a move would blur a focused one: see restoreFocus).
    wanted.forEach((row, i) => {
      const current = this.ul.children[i] ?? null;
      if (current !== row.li) this.ul.insertBefore(row.li, current);
    });
    while (this.ul.children.length > wanted.length) this.ul.lastElementChild?.remove();
    const more = this.moreButton;
    more.hidden = !state.hasMore;
    // Not `disabled` while loading: that would drop keyboard focus; clicks are ignored then.
    more.setAttribute("aria-disabled", String(state.loadingMore));
    more.setAttribute("aria-busy", String(state.loadingMore));
    setText(more, t(state.loadingMore ? "sidebar.loading" : "sidebar.showOlder"));
  }

  private skeleton(): HTMLElement {
    const row = (): HTMLElement =>
      h(
        "li",
        { class: "conv-skeleton" },
        h("span", { class: "skeleton" }),
        h("span", { class: "skeleton short" }),
      );
    return h("ul", { class: "conv-list", "aria-busy": "true" }, row(), row(), row());
  }

  private problem(error: string): HTMLElement {
    return h(
      "div",
      { class: "conv-empty" },
      h("p", {}, t("sidebar.loadFailed")),
      h("p", { class: "muted small" }, error),
      button(
        { class: "btn ghost small more", "data-focus": "reload" },
        [icon("retry"), t("common.tryAgain")],
        () => this.actions.reload(),
      ),
    );
  }

  private empty(): HTMLElement {
    return h(
      "div",
      { class: "conv-empty" },
      h("p", {}, t("sidebar.empty")),
      h("p", { class: "muted small" }, t("sidebar.emptyHint")),
    );
  }

  /** A conversation's row; `fill` puts the conversation's current state in it. */
  private row(c: Conversation): Row {
    const id = c.conversationId;
    const title = h("span", { class: "conv-title" });
    const meta = h("span", { class: "conv-meta" });
    const open = button({ class: "conv-open", "data-focus": "open" }, [title, meta], () => {
      this.setOpen(false);
      this.actions.select(id);
    });
    const row: Row = {
      conversation: c,
      li: h("li", { class: "conv-item", "data-testid": "conversation-item", "data-id": id }),
      open,
      title,
      meta,
      remove: button(
        { class: "icon-btn conv-delete", title: t("common.delete"), "data-focus": "remove" },
        [icon("trash")],
        () => this.actions.remove(row.conversation),
      ),
    };
    row.li.append(open, row.remove);
    return row;
  }

  private fill(row: Row, c: Conversation, selected: boolean): void {
    row.conversation = c;
    const title = conversationTitle(c);
    const updated = toDate(c.updateTime);
    const meta = [messageCount(c.messageCount), ago(updated)].filter((x) => x !== "").join(" · ");
    row.li.classList.toggle("selected", selected);
    if (selected) row.open.setAttribute("aria-current", "page");
    else row.open.removeAttribute("aria-current");
    row.open.title = fullDate(updated);
    setText(row.title, title);
    setText(row.meta, meta);
    row.remove.setAttribute("aria-label", t("sidebar.deleteNamed", { title }));
  }

  /** Which control of the list has keyboard focus, by row id and role (rows get rebuilt). */
  private focusedPlace(): FocusPlace | undefined {
    const active = document.activeElement;
    if (!(active instanceof HTMLElement) || !this.list.contains(active)) return undefined;
    const li = active.closest<HTMLElement>("li[data-id]");
    const rows = Array.from(this.ul.children);
    return {
      el: active,
      id: li?.dataset.id ?? "",
      role: active.dataset.focus ?? "",
      index: li !== null ? rows.indexOf(li) : -1,
    };
  }

  /** Puts focus back on the same control, or nearby when it is gone; never on the page. */
  private restoreFocus(place: FocusPlace): void {
    const { el, id, role, index } = place;
    if (document.activeElement === el && el.isConnected && el.closest("[hidden]") === null) {
      return;
    }
    const row = id !== "" ? this.rows.get(id) : undefined;
    let target: HTMLElement | undefined;
    if (row !== undefined) target = role === "remove" ? row.remove : row.open;
    else if (role === "more" && !this.moreButton.hidden) target = this.moreButton;
    else if (index >= 0) {
      // Its row went away (deleted): the row now in its place, or the last one.
      const li = this.ul.children[Math.min(index, this.ul.children.length - 1)];
      const next = li instanceof HTMLElement ? li.dataset.id : undefined;
      target = next !== undefined ? this.rows.get(next)?.open : undefined;
    }
    (target ?? this.list).focus({ preventScroll: true });
  }
}

/** One conversation in the list, kept across renders. */
interface Row {
  conversation: Conversation;
  li: HTMLLIElement;
  open: HTMLButtonElement;
  title: HTMLElement;
  meta: HTMLElement;
  remove: HTMLButtonElement;
}

interface FocusPlace {
  el: HTMLElement;
  /** The row's conversation id, "" outside a row. */
  id: string;
  /** `data-focus` of the control: "open", "remove", "more", "reload". */
  role: string;
  /** The row's position, -1 outside a row. */
  index: number;
}

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** The title to show; the server fills it from the first message, until then a placeholder. */
export function conversationTitle(c: Conversation): string {
  return c.title.trim() !== "" ? c.title.trim() : t("conversation.untitled");
}
