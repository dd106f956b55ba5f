/**
 * The person's conversations as the sidebar lists them: loaded a page at a time, kept fresh
 * (a conversation that changed moves to the top), deleted, and kept off the list once deleted.
 * Live: WatchConversations brings what other tabs and devices do (created, renamed, deleted).
 */

import { Code, ConnectError } from "@connectrpc/connect";

import type { ConversationClient } from "./api";
import { describe, isUnauthenticated, problemText } from "./errors";
import { isNewer } from "./format";
import {
  ChangeType,
  type Conversation,
  type WatchConversationsResponse,
} from "./gen/photofun/v1/conversation_service_pb";
import { t } from "./i18n";
import { followChanges } from "./live";
import { confirmDialog } from "./overlays";
import type { Session } from "./session";
import { conversationTitle, type Sidebar } from "./sidebar";

const CONVERSATION_PAGE = 30;

/** What the list reads from, and tells, the rest of the page. */
export interface ConversationListHooks {
  /** The conversation on screen, marked in the list; "" for none. */
  selectedId(): string;
  /** A CreateConversation is on its way ("New" says so). */
  creating(): boolean;
  /** The person deleted this conversation: leave it if it is on screen. */
  removed(conversationId: string): void;
  /** It was deleted elsewhere (another tab or device): leave it if it is on screen. */
  gone(conversationId: string): void;
}

export class ConversationList {
  private conversations: Conversation[] = [];
  private nextPageToken = "";
  private loading = true;
  private error = "";
  private loadingMore = false;
  /**
   * Conversations deleted here (by the person, or discarded after a refused first message): a
   * list or a fetch that started before the delete and answers after it must not bring them back.
   */
  private readonly discarded = new Set<string>();

  constructor(
    private readonly client: ConversationClient,
    private readonly session: Session,
    private readonly sidebar: Sidebar,
    private readonly hooks: ConversationListHooks,
  ) {
    // Keeps "5 minutes ago" honest.
    window.setInterval(() => this.render(), 60_000);
  }

  /** A new session: nothing listed, nothing discarded (the first page is loaded next). */
  reset(): void {
    this.conversations = [];
    this.nextPageToken = "";
    this.discarded.clear();
  }

  /**
   * Follows the person's list live for the session (WatchConversations; ended on sign-out) and
   * lists it once the stream is open, so no change falls between the two; again after the
   * stream had to start afresh. If it cannot be opened, the list is loaded all the same.
   */
  follow(): void {
    const signal = this.session.signal;
    let listed = false;
    const list = (): void => {
      listed = true;
      void this.load(false);
    };
    void followChanges<WatchConversationsResponse>(
      (resumeToken, options) => this.client.watchConversations({ resumeToken }, options),
      signal,
      true,
      {
        opened: (fresh) => {
          if (fresh || !listed) list();
        },
        change: (response) => this.apply(response),
        reconnecting: () => {
          if (!listed) list();
        },
        stopped: (err) => {
          if (signal.aborted) return;
          if (isUnauthenticated(err)) this.session.requireSignIn(err);
          else if (!listed) list();
        },
      },
    );
  }

  /** One change of the list, applied by id: it may repeat what a listing already shows. */
  private apply(response: WatchConversationsResponse): void {
    const c = response.conversation;
    const id = response.conversationId || c?.conversationId || "";
    if (response.change === ChangeType.DELETED) {
      if (id === "") return;
      this.drop(id);
      this.render();
      this.hooks.gone(id);
      return;
    }
    if (c === undefined) return;
    const known = this.find(c.conversationId);
    this.upsert(c, known === undefined || isNewer(c.updateTime, known.updateTime));
  }

  /** Signed out: the list is emptied on screen. */
  clear(): void {
    this.conversations = [];
    this.nextPageToken = "";
    this.render();
  }

  find(conversationId: string): Conversation | undefined {
    return this.conversations.find((c) => c.conversationId === conversationId);
  }

  /** The first page again (`more` false), or the next one. */
  async load(more: boolean): Promise<void> {
    if (more && (this.loadingMore || this.nextPageToken === "")) return;
    const signal = this.session.signal;
    if (more) this.loadingMore = true;
    else {
      this.loading = true;
      this.error = "";
    }
    this.render();
    try {
      const res = await this.client.listConversations(
        { pageSize: CONVERSATION_PAGE, pageToken: more ? this.nextPageToken : "" },
        { signal },
      );
      const fresh = more ? this.conversations : [];
      for (const listed of res.conversations) {
        // Deleted here (or elsewhere, as the live stream said) while this list was on its way.
        if (this.discarded.has(listed.conversationId)) continue;
        // A change the live stream brought meanwhile is newer than the listing's state.
        const known = this.find(listed.conversationId);
        const c =
          known !== undefined && isNewer(known.updateTime, listed.updateTime) ? known : listed;
        if (!fresh.some((x) => x.conversationId === c.conversationId)) fresh.push(c);
      }
      // One created while the first page was loading stays on top.
      if (!more) {
        for (const c of this.conversations) {
          if (!fresh.some((known) => known.conversationId === c.conversationId)) fresh.unshift(c);
        }
      }
      this.conversations = fresh;
      this.nextPageToken = res.nextPageToken;
    } catch (err) {
      if (!signal.aborted) {
        if (!more && !isUnauthenticated(err)) this.error = problemText(describe(err));
        this.session.fail(t("list.loadFailed"), err);
      }
    } finally {
      // A call of a previous session must not mark the current one's list as loaded.
      if (signal === this.session.signal) {
        if (more) this.loadingMore = false;
        else this.loading = false;
        this.render();
      }
    }
  }

  /** Shows `c` as the server returned it: in its place, or at the top (`toTop`, or new). */
  upsert(c: Conversation, toTop: boolean): void {
    if (this.discarded.has(c.conversationId)) return;
    const at = this.conversations.findIndex((x) => x.conversationId === c.conversationId);
    // An older state than the one shown (a call answered after a live change) is not shown.
    const known = this.conversations[at];
    if (known !== undefined && isNewer(known.updateTime, c.updateTime)) return;
    if (at >= 0 && !toTop) this.conversations[at] = c;
    else {
      if (at >= 0) this.conversations.splice(at, 1);
      this.conversations.unshift(c);
    }
    this.render();
  }

  /**
   * Fetches a conversation again (new title, count, time) and moves it to the top; undefined
   * when that failed, which is cosmetic only: the list is refreshed on the next load.
   */
  async fetch(conversationId: string): Promise<Conversation | undefined> {
    try {
      const res = await this.client.getConversation({ conversationId }, this.session.call);
      if (res.conversation === undefined) return undefined;
      this.upsert(res.conversation, true);
      return res.conversation;
    } catch {
      return undefined;
    }
  }

  /** "Delete" on a row: asks first, then deletes the conversation and all its messages. */
  async remove(c: Conversation): Promise<void> {
    const title = conversationTitle(c);
    const sure = await confirmDialog(
      document.body,
      t("delete.title"),
      t("delete.text", { title }),
      t("common.delete"),
    );
    if (!sure) return;
    const signal = this.session.signal;
    try {
      const conversationId = c.conversationId;
      await this.client.deleteConversation({ conversationId }, this.session.call);
    } catch (err) {
      // Already gone is as good as deleted.
      if (ConnectError.from(err).code !== Code.NotFound) {
        if (!this.session.signal.aborted) {
          this.session.fail(t("delete.failed"), err);
        }
        return;
      }
    }
    if (signal !== this.session.signal) return;
    this.drop(c.conversationId);
    this.hooks.removed(c.conversationId);
    this.render();
  }

  /**
   * Takes a conversation deleted here (or being deleted) off the list, and keeps it off while a
   * list that started before the delete answers. The caller renders.
   */
  drop(conversationId: string): void {
    this.discarded.add(conversationId);
    this.conversations = this.conversations.filter((c) => c.conversationId !== conversationId);
  }

  /** A dropped conversation that was not deleted after all may come back with the next list. */
  undrop(conversationId: string): void {
    this.discarded.delete(conversationId);
  }

  render(): void {
    this.sidebar.render({
      conversations: this.conversations,
      selectedId: this.hooks.selectedId(),
      loading: this.loading && this.conversations.length === 0,
      error: this.error,
      hasMore: this.nextPageToken !== "",
      loadingMore: this.loadingMore,
      creating: this.hooks.creating(),
      canSignOut: this.session.canSignOut,
    });
  }
}
