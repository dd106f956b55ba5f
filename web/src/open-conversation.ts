/**
 * The conversation on screen: its heading, its messages (the newest page, then earlier pages on
 * request), one card per message whichever call brought it first, and Cancel. Live: its
 * WatchConversation brings what other tabs and devices do (messages sent, changed, deleted; the
 * conversation renamed or deleted). It also knows which result the next message continues from:
 * the latest, or one the person picked. Leaving it ends its calls and watches.
 */

import { Code, ConnectError } from "@connectrpc/connect";

import type { ConversationClient } from "./api";
import type { Composer } from "./composer";
import type { ConversationList } from "./conversations";
import { describe, isUnauthenticated, problemText } from "./errors";
import { isNewer } from "./format";
import {
  ChangeType,
  type Conversation,
  type Message,
  type WatchConversationResponse,
} from "./gen/photofun/v1/conversation_service_pb";
import { t } from "./i18n";
import { followChanges } from "./live";
import { type Continuation, MessageView } from "./message-view";
import { MessageWatches } from "./message-watches";
import type { Lightbox } from "./overlays";
import type { Session } from "./session";
import { conversationTitle } from "./sidebar";
import type { ThreadView } from "./thread";

const MESSAGE_PAGE = 30;
/** Messages are listed newest first, so opening a conversation reads one page, not all. */
const NEWEST_FIRST = "create_time desc";

/** What an open conversation works with; the same for every conversation opened. */
export interface ConversationParts {
  client: ConversationClient;
  session: Session;
  list: ConversationList;
  thread: ThreadView;
  composer: Composer;
  lightbox: Lightbox;
  /** Fetches a conversation again once one of its messages finished (count, time). */
  refresh(conversationId: string): void;
  /** The conversation was deleted (here or elsewhere): leave it. */
  gone(conversationId: string): void;
  /** Regenerate / Variation: sends another take into this conversation; true when accepted. */
  sendVariation(conversationId: string, message: Message, imageIndex?: number): Promise<boolean>;
}

/** A result the person picked for the next message ("Continue from this"). */
export interface Pick {
  messageId: string;
  imageIndex: number;
  /** How the composer names it, e.g. "Front view · seed 42". */
  name: string;
}

export class OpenConversation {
  /** Aborted when the conversation is left: ends its calls and watches. */
  private readonly abort = new AbortController();
  /**
   * One view per message, whichever call brought it first (the listing, a send answered while
   * the listing was on its way, a page of earlier ones): the others reuse it.
   */
  private readonly views = new Map<string, MessageView>();
  private readonly watches: MessageWatches;
  /** Token of the page of older messages (NEWEST_FIRST); empty when all are shown. */
  private earlierToken = "";
  private loadingEarlier = false;
  /** The messages are to be listed (false only for a conversation just created empty). */
  private listing = false;
  /** The result the next message continues from, when the person picked one. */
  private picked: Pick | undefined;

  constructor(
    readonly id: string,
    private readonly parts: ConversationParts,
  ) {
    this.watches = new MessageWatches(
      parts.client,
      parts.session,
      parts.thread,
      this.abort.signal,
      () => {
        parts.refresh(id);
        this.markContinuation();
      },
    );
  }

  /** Left: another conversation, or none, is on screen now. */
  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  close(): void {
    this.abort.abort();
    this.parts.composer.setContinuation(undefined);
  }

  /**
   * Follows the conversation live and lists its messages once the stream is open (so nothing
   * falls between the two), or at once if it cannot be opened; `list` false for a conversation
   * just created empty (then only a fresh stream after an expired token lists it).
   */
  start(list: boolean): void {
    const signal = this.abort.signal;
    this.listing = list;
    let first = true;
    const begin = (): void => {
      if (!first) return;
      first = false;
      if (this.listing) void this.load();
    };
    void followChanges<WatchConversationResponse>(
      (resumeToken, options) =>
        this.parts.client.watchConversation({ conversationId: this.id, resumeToken }, options),
      signal,
      false,
      {
        opened: (fresh) => {
          if (first) begin();
          else if (fresh) void this.load(); // the token expired: changes may have been missed
        },
        change: (response) => this.apply(response),
        reconnecting: begin,
        stopped: (err) => {
          if (this.closed) return;
          if (err !== undefined && isUnauthenticated(err)) this.parts.session.requireSignIn(err);
          else begin();
        },
      },
    );
  }

  /** One change of the conversation, applied by id (it may repeat what is shown already). */
  private apply(response: WatchConversationResponse): void {
    if (this.closed) return;
    const { message, conversation } = response;
    const itself = response.messageId === "" && message === undefined;
    if (itself && response.change === ChangeType.DELETED) {
      this.parts.gone(this.id);
      return;
    }
    if (itself && conversation !== undefined) {
      this.parts.list.upsert(conversation, false);
      this.showHeading(conversation);
      return;
    }
    if (response.change === ChangeType.DELETED) {
      this.removeMessage(response.messageId || message?.messageId || "");
      return;
    }
    if (message === undefined) return;
    const view = this.views.get(message.messageId);
    if (view !== undefined) {
      const pinned = this.parts.thread.pinned;
      view.update(message);
      if (pinned) this.parts.thread.scrollToEnd(true);
      this.watches.follow(view);
    } else {
      // Sent from another tab or device: shown (and followed) like one sent here.
      this.accepted(message);
    }
    this.markContinuation();
  }

  /** A message deleted elsewhere leaves the thread. */
  private removeMessage(messageId: string): void {
    const view = this.views.get(messageId);
    if (view === undefined) return;
    this.views.delete(messageId);
    view.el.remove();
    if (this.picked?.messageId === messageId) this.setPick(undefined);
    if (this.views.size === 0 && this.earlierToken === "") this.parts.thread.showEmpty();
    this.markContinuation();
  }

  showHeading(c: Conversation | undefined): void {
    const title = c === undefined ? t("conversation.fallbackTitle") : conversationTitle(c);
    this.parts.thread.setHeading(title, c?.messageCount);
    document.title = t("document.title", { title });
  }

  /**
   * Lists the newest messages and shows them. A message sent while the listing was on its way
   * already has its view (and its watch); it is reused, or kept below if not listed.
   */
  async load(): Promise<void> {
    this.listing = true;
    const { client, list, thread } = this.parts;
    const conversationId = this.id;
    const signal = this.abort.signal;
    try {
      const [conversation, newest] = await Promise.all([
        client.getConversation({ conversationId }, { signal }),
        client.listMessages(
          { conversationId, pageSize: MESSAGE_PAGE, orderBy: NEWEST_FIRST },
          { signal },
        ),
      ]);
      if (this.closed) return;
      if (conversation.conversation !== undefined) list.upsert(conversation.conversation, false);
      this.showHeading(conversation.conversation);
      this.earlierToken = newest.nextPageToken;
      // Reading order: the page reversed, then any sent since it was read (the newest).
      const views = newest.messages
        .map((m) => this.views.get(m.messageId) ?? this.viewFor(m))
        .reverse();
      const shown = new Set(views);
      for (const view of this.views.values()) if (!shown.has(view)) views.push(view);
      thread.showMessages(views, this.earlierToken === "" ? "none" : "more");
      this.watches.followAll(views);
      this.markContinuation();
    } catch (err) {
      if (this.closed) return;
      if (isUnauthenticated(err)) {
        this.parts.session.requireSignIn(err);
        return;
      }
      const problem = describe(err);
      const text =
        problem.code === Code.NotFound || problem.code === Code.InvalidArgument
          ? t("open.missing")
          : problemText(problem);
      thread.setHeading(t("conversation.fallbackTitle"), undefined);
      const sent = [...this.views.values()];
      const retry = (): void => {
        if (this.closed) return;
        thread.showLoading([...this.views.values()]);
        void this.load();
      };
      thread.showProblem(text, retry, sent);
    }
  }

  /** Shows the page of messages before the oldest one on screen, above it. */
  async loadEarlier(): Promise<void> {
    if (this.loadingEarlier || this.earlierToken === "") return;
    const { client, thread } = this.parts;
    this.loadingEarlier = true;
    thread.setEarlier("loading");
    try {
      const res = await client.listMessages(
        {
          conversationId: this.id,
          pageSize: MESSAGE_PAGE,
          pageToken: this.earlierToken,
          orderBy: NEWEST_FIRST,
        },
        { signal: this.abort.signal },
      );
      if (this.closed) return;
      this.earlierToken = res.nextPageToken;
      // Skip any already shown, so a message never gets two views.
      const older = res.messages.filter((m) => !this.views.has(m.messageId));
      const views = older.map((m) => this.viewFor(m)).reverse();
      thread.prepend(views, this.earlierToken === "" ? "none" : "more");
      this.watches.followAll(views);
      this.markContinuation();
    } catch (err) {
      if (this.closed) return;
      thread.setEarlier("more");
      this.parts.session.fail(t("open.earlierFailed"), err);
    } finally {
      this.loadingEarlier = false;
    }
  }

  /**
   * A message sent into this conversation was accepted: its card is the one the listing made
   * (a retried send returns the first message), or a new one below that the listing, if still
   * on its way, will reuse. Either way it is followed.
   */
  accepted(message: Message): void {
    let view = this.views.get(message.messageId);
    if (view === undefined) {
      view = this.viewFor(message);
      this.parts.thread.append(view);
      this.markContinuation();
    }
    this.watches.follow(view);
  }

  /** The result the person picked for the next message, if any. */
  get pick(): Pick | undefined {
    return this.picked;
  }

  /** A message that carried `pick` was accepted: the next one continues from the latest again. */
  sent(pick: Pick | undefined): void {
    if (pick !== undefined && this.picked === pick) this.setPick(undefined);
  }

  /** "Continue from this" (or × in the composer, with undefined). */
  setPick(pick: Pick | undefined): void {
    this.picked = pick;
    this.parts.composer.setContinuation(
      pick === undefined ? undefined : { name: pick.name, clear: () => this.setPick(undefined) },
    );
    this.markContinuation();
  }

  /**
   * Marks the result the next message continues from: a result of this conversation attached
   * with "Edit this picture", else the one picked, else (when no other picture is attached) the
   * latest finished result.
   */
  markContinuation(): void {
    if (this.closed) return;
    let target: { messageId: string; continuation: Continuation } | undefined;
    const attached = this.parts.composer.attached;
    if (typeof attached === "object" && attached.conversationId === this.id) {
      const { messageId, imageIndex } = attached;
      target = { messageId, continuation: { picked: true, imageIndex } };
    } else if (this.picked !== undefined) {
      const { messageId, imageIndex } = this.picked;
      target = { messageId, continuation: { picked: true, imageIndex } };
    } else if (attached === undefined) {
      let latest: MessageView | undefined;
      for (const view of this.views.values()) {
        if (!view.hasResult) continue;
        if (latest === undefined || isNewer(view.current.createTime, latest.current.createTime)) {
          latest = view;
        }
      }
      if (latest !== undefined) {
        target = { messageId: latest.id, continuation: { picked: false, imageIndex: undefined } };
      }
    }
    for (const view of this.views.values()) {
      view.setContinuation(view.id === target?.messageId ? target.continuation : undefined);
    }
  }

  private viewFor(message: Message): MessageView {
    const { composer, lightbox } = this.parts;
    const view = new MessageView(message, {
      cancel: (id) => void this.cancel(id),
      openImage: (images, index) => lightbox.open(images, index),
      editImage: (url, name, source) => {
        lightbox.close();
        composer.attachUrl(url, name, source);
      },
      continueFrom: (messageId, imageIndex, name) => {
        this.setPick({ messageId, imageIndex, name });
        composer.focus();
      },
      vary: (m, imageIndex) => this.parts.sendVariation(this.id, m, imageIndex),
    });
    this.views.set(message.messageId, view);
    return view;
  }

  private async cancel(messageId: string): Promise<void> {
    const { client, session } = this.parts;
    const signal = this.abort.signal;
    const view = this.views.get(messageId);
    try {
      const res = await client.cancelMessage({ messageId }, { signal });
      if (res.message !== undefined) view?.update(res.message);
    } catch (err) {
      if (signal.aborted) return;
      if (ConnectError.from(err).code === Code.FailedPrecondition) {
        // It finished meanwhile; show how it ended.
        try {
          const res = await client.getMessage({ messageId }, { signal });
          if (res.message !== undefined) view?.update(res.message);
          return;
        } catch {
          // Fall through to the report below.
        }
      }
      view?.cancelFailed();
      session.fail(t("open.cancelFailed"), err);
    }
  }
}
