/**
 * Which conversation is on screen, kept in the address (`#/c/<id>`; none is the welcome screen):
 * following the address (Back, Forward, a pasted link), selecting, starting anew, leaving.
 */

import type { Conversation } from "./gen/photofun/v1/conversation_service_pb";
import { type ConversationParts, OpenConversation } from "./open-conversation";
import type { Sidebar } from "./sidebar";

const TITLE = "PhotoFun Studio";

/** The conversation named in the address, or "" for the welcome screen. */
function addressedId(): string {
  return /^#\/c\/([0-9a-fA-F]+)$/.exec(window.location.hash)?.[1] ?? "";
}

/** Names a conversation in the address; Back returns to the previous one. */
function pushConversation(conversationId: string): void {
  window.history.pushState(null, "", `#/c/${conversationId}`);
}

/**
 * Takes the conversation out of the address: pushed (Back returns to it), or replaced when Back
 * must not lead to it.
 */
export function clearAddress(how: "push" | "replace"): void {
  const url = window.location.pathname + window.location.search;
  if (how === "push") window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}

/** What the navigator works with, besides what it hands to each open conversation. */
export interface NavigatorParts extends Omit<ConversationParts, "refresh" | "gone"> {
  sidebar: Sidebar;
}

export class Navigator {
  private open: OpenConversation | undefined;
  /** What each conversation opened gets. */
  private readonly conversationParts: ConversationParts;

  constructor(private readonly parts: NavigatorParts) {
    this.conversationParts = {
      ...parts,
      refresh: (id) => void this.refresh(id),
      gone: (id) => {
        parts.list.drop(id);
        parts.list.render();
        this.leave(id, "replace");
      },
    };
    window.addEventListener("popstate", () => this.route());
    window.addEventListener("hashchange", () => this.route());
  }

  /** The conversation on screen, if any. */
  get current(): OpenConversation | undefined {
    return this.open;
  }

  /** Opens the conversation named in the address, or the welcome screen. */
  route(): void {
    if (!this.parts.session.active) return;
    const id = addressedId();
    if (id === "") {
      this.close();
      this.showWelcome();
      this.parts.list.render();
    } else if (this.open?.id !== id) {
      this.openConversation(id);
    }
  }

  /** Selects a conversation in the list. */
  navigate(id: string): void {
    if (this.open?.id === id) return;
    pushConversation(id);
    this.route();
  }

  /**
   * "New conversation": an empty thread and the composer. The conversation itself is created
   * with its first message, so clicking twice (or changing one's mind) leaves nothing behind.
   */
  startNew(): void {
    if (window.location.hash !== "") window.history.pushState(null, "", "#/");
    this.close();
    this.showWelcome();
    this.parts.list.render();
    this.parts.sidebar.setOpen(false);
    this.parts.composer.focus();
  }

  /**
   * Opens a conversation just created for a message, if the person is still on the "new
   * conversation" screen: someone who opened another one meanwhile stays there (the new one,
   * with the message about to be sent, is at the top of the list).
   */
  showCreated(c: Conversation): void {
    if (this.open !== undefined || !this.parts.session.active) return;
    pushConversation(c.conversationId);
    const open = this.begin(c.conversationId);
    open.showHeading(c);
    this.parts.sidebar.setOpen(false);
    this.parts.composer.focus();
    // A retried request id returns the conversation the first attempt made, which may have
    // messages by now (sent from another tab): they are listed, as when it is opened.
    if (c.messageCount === 0) this.parts.thread.showEmpty();
    else this.parts.thread.showLoading();
    open.start(c.messageCount !== 0);
  }

  /** A conversation that is gone: if it is on screen, the welcome screen replaces it. */
  leave(conversationId: string, how: "push" | "replace"): void {
    if (this.open?.id !== conversationId) return;
    clearAddress(how);
    this.route();
  }

  close(): void {
    this.open?.close();
    this.open = undefined;
  }

  /** The welcome screen's thread and title (the address and the list are the caller's). */
  showWelcome(): void {
    this.parts.thread.showWelcome();
    document.title = TITLE;
  }

  /** "Show earlier messages" in the conversation on screen. */
  loadEarlier(): void {
    void this.open?.loadEarlier();
  }

  /** Fetches a conversation again (new title, count, time) and moves it to the top. */
  async refresh(conversationId: string): Promise<void> {
    const c = await this.parts.list.fetch(conversationId);
    if (c !== undefined && this.open?.id === conversationId) this.open.showHeading(c);
  }

  private begin(id: string): OpenConversation {
    this.close();
    const open = new OpenConversation(id, this.conversationParts);
    this.open = open;
    this.parts.list.render();
    return open;
  }

  private openConversation(id: string): void {
    const open = this.begin(id);
    open.showHeading(this.parts.list.find(id));
    this.parts.thread.showLoading();
    open.start(true);
  }
}
