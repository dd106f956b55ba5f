/**
 * The conversation on screen: its heading, its messages (the newest page, then earlier pages on
 * request), one card per message whichever call brought it first, and Cancel. Leaving it ends
 * its calls and watches.
 */

import { Code, ConnectError } from "@connectrpc/connect";

import type { ConversationClient } from "./api";
import type { Composer } from "./composer";
import type { ConversationList } from "./conversations";
import { describe, isUnauthenticated, problemText } from "./errors";
import type { Conversation, Message } from "./gen/photofun/v1/conversation_service_pb";
import { MessageView } from "./message-view";
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

  constructor(
    readonly id: string,
    private readonly parts: ConversationParts,
  ) {
    this.watches = new MessageWatches(
      parts.client,
      parts.session,
      parts.thread,
      this.abort.signal,
      () => parts.refresh(id),
    );
  }

  /** Left: another conversation, or none, is on screen now. */
  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  close(): void {
    this.abort.abort();
  }

  showHeading(c: Conversation | undefined): void {
    const title = c === undefined ? "Conversation" : conversationTitle(c);
    this.parts.thread.setHeading(title, c?.messageCount);
    document.title = `${title} — PhotoFun Studio`;
  }

  /**
   * Lists the newest messages and shows them. A message sent while the listing was on its way
   * already has its view (and its watch); it is reused, or kept below if not listed.
   */
  async load(): Promise<void> {
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
    } catch (err) {
      if (this.closed) return;
      if (isUnauthenticated(err)) {
        this.parts.session.requireSignIn(err);
        return;
      }
      const problem = describe(err);
      const text =
        problem.code === Code.NotFound || problem.code === Code.InvalidArgument
          ? "It does not exist, or it was deleted."
          : problemText(problem);
      thread.setHeading("Conversation", undefined);
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
    } catch (err) {
      if (this.closed) return;
      thread.setEarlier("more");
      this.parts.session.fail("Earlier messages could not be loaded", err);
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
    }
    this.watches.follow(view);
  }

  private viewFor(message: Message): MessageView {
    const { composer, lightbox } = this.parts;
    const view = new MessageView(message, {
      cancel: (id) => void this.cancel(id),
      openImage: (images, index) => lightbox.open(images, index),
      editImage: (url, name) => {
        lightbox.close();
        composer.attachUrl(url, name);
      },
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
      session.fail("The message could not be cancelled", err);
    }
  }
}
