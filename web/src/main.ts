/** PhotoFun Studio in the browser: wires the views to the ConversationService. */

import { Code, ConnectError } from "@connectrpc/connect";

import {
  type ConversationClient,
  createConversationClient,
  loadConfig,
  newIdempotencyKey,
  TokenStore,
  tokenSubject,
} from "./api";
import { Composer, type Draft } from "./composer";
import { h } from "./dom";
import { describe, isUnauthenticated, problemText } from "./errors";
import {
  type Conversation,
  type Message,
  MessageStatus,
} from "./gen/photofun/v1/conversation_service_pb";
import { MessageView } from "./message-view";
import { confirmDialog, ErrorBanner, Lightbox } from "./overlays";
import { conversationTitle, Sidebar } from "./sidebar";
import { SignInPanel } from "./signin";
import { ThreadView } from "./thread";
import { watchMessage } from "./watch";

const CONVERSATION_PAGE = 30;
const MESSAGE_PAGE = 30;
/** Messages are listed newest first, so opening a conversation reads one page, not all. */
const NEWEST_FIRST = "create_time desc";
/**
 * SendMessage answers that mean "this message was not stored, and sending it again as it is
 * will not help": the draft (too long, a bad picture), a quota, a state.
 */
const REFUSED: ReadonlySet<Code> = new Set([
  Code.InvalidArgument,
  Code.ResourceExhausted,
  Code.FailedPrecondition,
]);
/** UploadImage's hourly quota: trying again fails for up to an hour (the message says so). */
const UPLOAD_QUOTA_EXCEEDED = "UPLOAD_QUOTA_EXCEEDED";

/** The conversation on screen; its AbortController ends its calls and watches on leaving it. */
interface OpenConversation {
  id: string;
  abort: AbortController;
  /**
   * One view per message, whichever call brought it first (the listing, a send answered while
   * the listing was on its way, a page of earlier ones): the others reuse it.
   */
  views: Map<string, MessageView>;
  watching: Set<string>;
  /** Token of the page of older messages (NEWEST_FIRST); empty when all are shown. */
  earlierToken: string;
  loadingEarlier: boolean;
}

class App {
  private readonly sidebar: Sidebar;
  private readonly composer: Composer;
  private readonly thread: ThreadView;
  private readonly banner = new ErrorBanner();
  private readonly lightbox = new Lightbox();
  private readonly signIn: SignInPanel;
  private readonly shell: HTMLElement;

  private conversations: Conversation[] = [];
  private nextPageToken = "";
  private listLoading = true;
  private listError = "";
  private loadingMore = false;
  /** The CreateConversation in flight; a second send waits for it rather than racing it. */
  private creating: Promise<Conversation | undefined> | undefined;
  private open: OpenConversation | undefined;
  /** Aborted on sign-out, ending every call of the signed-in user. */
  private session = new AbortController();
  /**
   * The keys of a draft not yet accepted, reused if the same draft is sent again so a resend
   * after a lost answer makes no duplicate: CreateConversation's request id (AIP-155) when it
   * starts a conversation, and SendMessage's idempotency key per conversation.
   */
  private pendingCreate: { draft: string; requestId: string } | undefined;
  private retry: { draft: string; conversationId: string; key: string } | undefined;
  /**
   * Conversations deleted here (by the person, or discarded after a refused first message): a
   * list or a fetch that started before the delete and answers after it must not bring them back.
   */
  private discarded = new Set<string>();
  /**
   * Set when the server refused the token (expired, revoked): whose session that was (the
   * token's `sub`, undefined if unreadable), so that the next sign-in can tell whether the
   * draft on screen is theirs.
   */
  private interrupted: { user: string | undefined } | undefined;

  constructor(
    private readonly client: ConversationClient,
    private readonly tokens: TokenStore,
    root: HTMLElement,
  ) {
    this.sidebar = new Sidebar({
      create: () => this.startNew(),
      select: (id) => this.navigate(id),
      remove: (c) => void this.remove(c),
      more: () => void this.loadConversations(true),
      reload: () => void this.loadConversations(false),
      signOut: () => this.signOut(),
    });
    this.composer = new Composer({
      submit: (draft) => this.send(draft),
      upload: (data, filename, signal) => this.upload(data, filename, signal),
      explain: (err) => {
        const problem = describe(err);
        // A refused picture stays refused; anything else (network, restart) may pass later.
        // The hourly quota too: its message already says to try later, and Retry would fail
        // for up to an hour.
        return {
          text: problemText(problem),
          retry: problem.code !== Code.InvalidArgument && problem.reason !== UPLOAD_QUOTA_EXCEEDED,
        };
      },
    });
    this.thread = new ThreadView(
      this.composer.el,
      this.banner.el,
      (text) => this.composer.fill(text),
      () => void this.loadEarlier(),
    );
    this.signIn = new SignInPanel((token) => {
      // Someone else signing in after a refused token does not get the last person's draft.
      const before = this.interrupted;
      this.interrupted = undefined;
      const someoneElse =
        before !== undefined && (before.user === undefined || tokenSubject(token) !== before.user);
      if (someoneElse) this.forgetPerson();
      this.tokens.save(token);
      this.start();
    });
    this.composer.acceptDrops(this.thread.el);
    this.shell = h("div", { class: "app", hidden: true }, this.sidebar.el, this.thread.el);
    root.replaceChildren(this.shell, this.signIn.el, this.lightbox.el);
    // A picture dropped beside the drop areas must not replace the page with the file.
    for (const kind of ["dragover", "drop"] as const) {
      window.addEventListener(kind, (event) => {
        if (event.dataTransfer?.types.includes("Files")) event.preventDefault();
      });
    }
    window.addEventListener("popstate", () => this.route());
    window.addEventListener("hashchange", () => this.route());
    // Keeps "5 minutes ago" honest.
    window.setInterval(() => this.renderSidebar(), 60_000);
  }

  /** Options for calls that outlive a conversation switch but not a sign-out. */
  private get sessionCall(): { signal: AbortSignal } {
    return { signal: this.session.signal };
  }

  boot(): void {
    if (this.tokens.get() === undefined) this.showSignIn("");
    else this.start();
  }

  private start(): void {
    this.session = new AbortController();
    this.conversations = [];
    this.nextPageToken = "";
    this.discarded.clear();
    this.signIn.hide();
    this.shell.hidden = false;
    void this.loadConversations(false);
    this.route();
  }

  // --- navigation ---------------------------------------------------------------------------

  /** Opens the conversation named in the URL (#/c/<id>), or the welcome screen. */
  private route(): void {
    if (this.shell.hidden) return;
    const id = /^#\/c\/([0-9a-fA-F]+)$/.exec(window.location.hash)?.[1] ?? "";
    if (id === "") {
      this.close();
      this.thread.showWelcome();
      document.title = "PhotoFun Studio";
      this.renderSidebar();
    } else if (this.open?.id !== id) {
      void this.openConversation(id);
    }
  }

  /**
   * "New conversation": an empty thread and the composer. The conversation itself is created
   * with its first message, so clicking twice (or changing one's mind) leaves nothing behind.
   */
  private startNew(): void {
    if (window.location.hash !== "") window.history.pushState(null, "", "#/");
    this.close();
    this.thread.showWelcome();
    document.title = "PhotoFun Studio";
    this.renderSidebar();
    this.sidebar.setOpen(false);
    this.composer.focus();
  }

  private navigate(id: string): void {
    if (this.open?.id === id) return;
    window.history.pushState(null, "", `#/c/${id}`);
    this.route();
  }

  private close(): void {
    this.open?.abort.abort();
    this.open = undefined;
  }

  private begin(id: string): OpenConversation {
    this.close();
    const open: OpenConversation = {
      id,
      abort: new AbortController(),
      views: new Map(),
      watching: new Set(),
      earlierToken: "",
      loadingEarlier: false,
    };
    this.open = open;
    this.renderSidebar();
    return open;
  }

  private async openConversation(id: string): Promise<void> {
    const open = this.begin(id);
    const known = this.conversations.find((c) => c.conversationId === id);
    this.showHeading(known);
    this.thread.showLoading();
    await this.load(open);
  }

  /**
   * Lists the newest messages of `open` and shows them. A message sent while the listing was on
   * its way already has its view (and its watch); it is reused, or kept below if not listed.
   */
  private async load(open: OpenConversation): Promise<void> {
    const id = open.id;
    const signal = open.abort.signal;
    try {
      const [conversation, newest] = await Promise.all([
        this.client.getConversation({ conversationId: id }, { signal }),
        this.client.listMessages(
          { conversationId: id, pageSize: MESSAGE_PAGE, orderBy: NEWEST_FIRST },
          { signal },
        ),
      ]);
      if (this.open !== open) return;
      if (conversation.conversation !== undefined) this.upsert(conversation.conversation, false);
      this.showHeading(conversation.conversation);
      open.earlierToken = newest.nextPageToken;
      // Reading order: the page reversed, then any sent since it was read (the newest).
      const views = newest.messages
        .map((m) => open.views.get(m.messageId) ?? this.viewFor(open, m))
        .reverse();
      const shown = new Set(views);
      for (const view of open.views.values()) if (!shown.has(view)) views.push(view);
      this.thread.showMessages(views, open.earlierToken === "" ? "none" : "more");
      this.watchAll(open, views);
    } catch (err) {
      if (this.open !== open || signal.aborted) return;
      if (isUnauthenticated(err)) {
        this.requireSignIn(err);
        return;
      }
      const problem = describe(err);
      const text =
        problem.code === Code.NotFound || problem.code === Code.InvalidArgument
          ? "It does not exist, or it was deleted."
          : problemText(problem);
      this.thread.setHeading("Conversation", undefined);
      const sent = [...open.views.values()];
      const retry = (): void => {
        if (this.open !== open) return;
        this.thread.showLoading([...open.views.values()]);
        void this.load(open);
      };
      this.thread.showProblem(text, retry, sent);
    }
  }

  /** Shows the page of messages before the oldest one on screen, above it. */
  private async loadEarlier(): Promise<void> {
    const open = this.open;
    if (open === undefined || open.loadingEarlier || open.earlierToken === "") return;
    open.loadingEarlier = true;
    this.thread.setEarlier("loading");
    try {
      const res = await this.client.listMessages(
        {
          conversationId: open.id,
          pageSize: MESSAGE_PAGE,
          pageToken: open.earlierToken,
          orderBy: NEWEST_FIRST,
        },
        { signal: open.abort.signal },
      );
      if (this.open !== open) return;
      open.earlierToken = res.nextPageToken;
      // Skip any already shown, so a message never gets two views.
      const older = res.messages.filter((m) => !open.views.has(m.messageId));
      const views = this.viewsFor(open, older);
      this.thread.prepend(views, open.earlierToken === "" ? "none" : "more");
      this.watchAll(open, views);
    } catch (err) {
      if (this.open !== open || open.abort.signal.aborted) return;
      this.thread.setEarlier("more");
      this.fail("Earlier messages could not be loaded", err);
    } finally {
      open.loadingEarlier = false;
    }
  }

  private showHeading(c: Conversation | undefined): void {
    const title = c === undefined ? "Conversation" : conversationTitle(c);
    this.thread.setHeading(title, c?.messageCount);
    document.title = `${title} — PhotoFun Studio`;
  }

  // --- conversations ------------------------------------------------------------------------

  private async loadConversations(more: boolean): Promise<void> {
    if (more && (this.loadingMore || this.nextPageToken === "")) return;
    const session = this.session;
    if (more) this.loadingMore = true;
    else {
      this.listLoading = true;
      this.listError = "";
    }
    this.renderSidebar();
    try {
      const res = await this.client.listConversations(
        { pageSize: CONVERSATION_PAGE, pageToken: more ? this.nextPageToken : "" },
        { signal: session.signal },
      );
      const fresh = more ? this.conversations : [];
      for (const c of res.conversations) {
        // Deleted here while this list was on its way.
        if (this.discarded.has(c.conversationId)) continue;
        if (!fresh.some((known) => known.conversationId === c.conversationId)) fresh.push(c);
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
      if (!session.signal.aborted) {
        if (!more && !isUnauthenticated(err)) this.listError = problemText(describe(err));
        this.fail("Your conversations could not be loaded", err);
      }
    } finally {
      // A call of a previous session must not mark the current one's list as loaded.
      if (session === this.session) {
        if (more) this.loadingMore = false;
        else this.listLoading = false;
        this.renderSidebar();
      }
    }
  }

  /**
   * Starts a conversation for `draft` (title left to the server), one at a time, and opens it
   * if the person is still on the "new conversation" screen.
   */
  private createConversation(draft: string): Promise<Conversation | undefined> {
    if (this.creating === undefined) {
      this.creating = this.create(draft).finally(() => {
        this.creating = undefined;
        this.renderSidebar();
      });
      this.renderSidebar();
    }
    return this.creating;
  }

  private async create(draft: string): Promise<Conversation | undefined> {
    const session = this.session;
    // A request id makes a retried create return the same conversation (AIP-155); it is kept
    // for the same draft, so a resend after a lost answer makes no second conversation.
    if (this.pendingCreate?.draft !== draft) {
      this.pendingCreate = { draft, requestId: newIdempotencyKey() };
    }
    const request = { title: "", requestId: this.pendingCreate.requestId };
    try {
      const res = await this.client.createConversation(request, { signal: session.signal });
      const c = res.conversation;
      if (c === undefined) {
        throw new ConnectError("the server returned no conversation", Code.Internal);
      }
      this.pendingCreate = undefined;
      this.upsert(c, true);
      // Someone who opened another conversation meanwhile stays there; the new one (with the
      // message about to be sent) is at the top of the list.
      if (this.open === undefined && !this.shell.hidden) {
        window.history.pushState(null, "", `#/c/${c.conversationId}`);
        const open = this.begin(c.conversationId);
        this.showHeading(c);
        this.sidebar.setOpen(false);
        this.composer.focus();
        // A retried request id returns the conversation the first attempt made, which may have
        // messages by now (sent from another tab): they are listed, as when it is opened.
        if (c.messageCount === 0) this.thread.showEmpty();
        else {
          this.thread.showLoading();
          void this.load(open);
        }
      }
      return c;
    } catch (err) {
      if (!session.signal.aborted) this.fail("A new conversation could not be started", err);
      return undefined;
    }
  }

  private async remove(c: Conversation): Promise<void> {
    const title = conversationTitle(c);
    const sure = await confirmDialog(
      document.body,
      "Delete this conversation?",
      `“${title}” and all its messages will be deleted, and unfinished pictures stopped. ` +
        "This cannot be undone.",
      "Delete",
    );
    if (!sure) return;
    const session = this.session;
    try {
      const conversationId = c.conversationId;
      await this.client.deleteConversation({ conversationId }, this.sessionCall);
    } catch (err) {
      // Already gone is as good as deleted.
      if (ConnectError.from(err).code !== Code.NotFound) {
        if (!this.session.signal.aborted) {
          this.fail("The conversation could not be deleted", err);
        }
        return;
      }
    }
    if (session !== this.session) return;
    this.discarded.add(c.conversationId);
    this.conversations = this.conversations.filter((x) => x.conversationId !== c.conversationId);
    if (this.open?.id === c.conversationId) {
      window.history.pushState(null, "", window.location.pathname + window.location.search);
      this.route();
    }
    this.renderSidebar();
  }

  /** Fetches a conversation again (new title, count, time) and moves it to the top. */
  private async refresh(conversationId: string): Promise<void> {
    try {
      const res = await this.client.getConversation({ conversationId }, this.sessionCall);
      if (res.conversation === undefined) return;
      this.upsert(res.conversation, true);
      if (this.open?.id === conversationId) this.showHeading(res.conversation);
    } catch {
      // Cosmetic only: the list is refreshed on the next load.
    }
  }

  private upsert(c: Conversation, toTop: boolean): void {
    if (this.discarded.has(c.conversationId)) return;
    const at = this.conversations.findIndex((x) => x.conversationId === c.conversationId);
    if (at >= 0 && !toTop) this.conversations[at] = c;
    else {
      if (at >= 0) this.conversations.splice(at, 1);
      this.conversations.unshift(c);
    }
    this.renderSidebar();
  }

  private renderSidebar(): void {
    this.sidebar.render({
      conversations: this.conversations,
      selectedId: this.open?.id ?? "",
      loading: this.listLoading && this.conversations.length === 0,
      error: this.listError,
      hasMore: this.nextPageToken !== "",
      loadingMore: this.loadingMore,
      creating: this.creating !== undefined,
      canSignOut: this.tokens.usesPastedToken,
    });
  }

  // --- messages -----------------------------------------------------------------------------

  /**
   * Sends the draft to the conversation on screen, or to a new one from the "new conversation"
   * screen; true when accepted. Its card shows if that conversation is (still) on screen.
   */
  private async send(draft: Draft): Promise<boolean> {
    const session = this.session;
    // A different picture is a different draft: it gets its own keys.
    const text = JSON.stringify([draft.prompt, draft.style, draft.lang, draft.imageUrl]);
    let conversationId = this.open?.id;
    /**
     * Created for this message just now, and empty: only such a conversation is deleted when
     * the message is refused. A retried CreateConversation (the same request id) returns the
     * conversation the first attempt made, which may hold messages by now: that one is kept.
     */
    let fresh = false;
    if (conversationId === undefined) {
      const created = await this.createConversation(text);
      if (created === undefined) return false;
      conversationId = created.conversationId;
      fresh = created.messageCount === 0;
    }
    const last = this.retry;
    const key =
      last?.draft === text && last.conversationId === conversationId
        ? last.key
        : newIdempotencyKey();
    this.retry = { draft: text, conversationId, key };
    try {
      const res = await this.client.sendMessage(
        { conversationId, ...draft, idempotencyKey: key },
        { signal: session.signal },
      );
      this.retry = undefined;
      const message = res.message;
      const open = this.open;
      if (message !== undefined && open?.id === conversationId) {
        // The view the listing made (a retried send returns the first message), or a new one
        // that the listing, if still on its way, will reuse.
        let view = open.views.get(message.messageId);
        if (view === undefined) {
          view = this.viewFor(open, message);
          this.thread.append(view);
        }
        this.watch(open, view);
      }
      void this.refresh(conversationId);
      return true;
    } catch (err) {
      if (session.signal.aborted) return false;
      this.fail("Your message was not sent", err);
      if (fresh && REFUSED.has(describe(err).code)) {
        this.retry = undefined;
        void this.discard(conversationId);
      }
      return false;
    }
  }

  /**
   * Deletes a conversation made for a message the server then refused, so no empty "New
   * conversation" is left behind; the draft stays in the composer, and the next send starts
   * afresh. (A transient failure keeps it: that message may have been stored after all.)
   */
  private async discard(conversationId: string): Promise<void> {
    // Off the screen and the list first, so the next send cannot go into it meanwhile; kept off
    // while a list that started before the delete answers.
    this.discarded.add(conversationId);
    this.conversations = this.conversations.filter((c) => c.conversationId !== conversationId);
    if (this.open?.id === conversationId) {
      // Replaced, not pushed: Back must not lead to a conversation that no longer exists.
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      this.route();
    }
    this.renderSidebar();
    try {
      // Only if still empty: a message sent into it from another tab meanwhile keeps it.
      const request = { conversationId, onlyIfEmpty: true };
      await this.client.deleteConversation(request, this.sessionCall);
    } catch (err) {
      const code = ConnectError.from(err).code;
      if (code === Code.NotFound) return;
      // Left as it is: back in the list at once when it has messages, else on its next load.
      this.discarded.delete(conversationId);
      if (code === Code.FailedPrecondition) void this.loadConversations(false);
    }
  }

  /**
   * Stores an attached picture on the Media Service (UploadImage) and returns its URL. A
   * refused token brings the sign-in panel back; other failures are the chip's to explain.
   */
  private async upload(data: Uint8Array, filename: string, signal: AbortSignal): Promise<string> {
    const session = this.session;
    // Ends when the picture is removed or replaced, or on sign-out.
    const call = new AbortController();
    const stop = (): void => call.abort();
    if (signal.aborted || session.signal.aborted) stop();
    signal.addEventListener("abort", stop);
    session.signal.addEventListener("abort", stop);
    try {
      const res = await this.client.uploadImage({ data, filename }, { signal: call.signal });
      if (res.imageUrl === "") {
        throw new ConnectError("the server returned no image address", Code.Internal);
      }
      return res.imageUrl;
    } catch (err) {
      if (!call.signal.aborted && isUnauthenticated(err)) this.requireSignIn(err);
      throw err;
    } finally {
      signal.removeEventListener("abort", stop);
      session.signal.removeEventListener("abort", stop);
    }
  }

  /** Views of a newest-first page, in reading order (oldest at the top). */
  private viewsFor(open: OpenConversation, newestFirst: Message[]): MessageView[] {
    return newestFirst.map((m) => this.viewFor(open, m)).reverse();
  }

  private viewFor(open: OpenConversation, message: Message): MessageView {
    const view = new MessageView(message, {
      cancel: (id) => void this.cancel(open, id),
      openImage: (images, index) => this.lightbox.open(images, index),
      editImage: (url, name) => {
        this.lightbox.close();
        this.composer.attachUrl(url, name);
      },
    });
    open.views.set(message.messageId, view);
    return view;
  }

  private watchAll(open: OpenConversation, views: MessageView[]): void {
    for (const view of views) this.watch(open, view);
  }

  /** Follows a processing message until it finishes or the conversation is left. */
  private watch(open: OpenConversation, view: MessageView): void {
    if (open.watching.has(view.id) || view.status !== MessageStatus.PROCESSING) return;
    open.watching.add(view.id);
    void watchMessage(this.client, view.id, open.abort.signal, {
      connected: () => view.setLive({ kind: "ok" }),
      update: (message) => {
        const pinned = this.thread.pinned;
        view.setLive({ kind: "ok" });
        view.update(message);
        if (pinned) this.thread.scrollToEnd(true);
        if (message.status !== MessageStatus.PROCESSING) void this.refresh(open.id);
      },
      reconnecting: (attempt) => view.setLive({ kind: "reconnecting", attempt }),
      failed: (err) => {
        if (isUnauthenticated(err)) {
          this.requireSignIn(err);
          return;
        }
        if (ConnectError.from(err).code === Code.NotFound) {
          // Deleted elsewhere: it will never finish, and a retry could never succeed.
          view.setLive({ kind: "deleted" });
          return;
        }
        view.setLive({
          kind: "failed",
          text: problemText(describe(err)),
          retry: () => {
            view.setLive({ kind: "ok" });
            this.watch(open, view);
          },
        });
      },
    }).finally(() => open.watching.delete(view.id));
  }

  private async cancel(open: OpenConversation, messageId: string): Promise<void> {
    const view = open.views.get(messageId);
    try {
      const res = await this.client.cancelMessage({ messageId }, { signal: open.abort.signal });
      if (res.message !== undefined) view?.update(res.message);
    } catch (err) {
      if (open.abort.signal.aborted) return;
      if (ConnectError.from(err).code === Code.FailedPrecondition) {
        // It finished meanwhile; show how it ended.
        try {
          const res = await this.client.getMessage({ messageId }, { signal: open.abort.signal });
          if (res.message !== undefined) view?.update(res.message);
          return;
        } catch {
          // Fall through to the report below.
        }
      }
      view?.cancelFailed();
      this.fail("The message could not be cancelled", err);
    }
  }

  // --- errors and sign-in -------------------------------------------------------------------

  /** Reports a failed call in words, or sends the user to sign in when the token was refused. */
  private fail(what: string, err: unknown): void {
    if (isUnauthenticated(err)) {
      this.requireSignIn(err);
      return;
    }
    const problem = describe(err);
    this.banner.show(what, problemText(problem), problem.hint);
  }

  private requireSignIn(err: unknown): void {
    if (this.shell.hidden) return;
    const problem = describe(err);
    const reason =
      problem.reason === "TOKEN_EXPIRED"
        ? "Your session has expired. Please sign in again."
        : problem.reason === "MISSING_CREDENTIALS"
          ? "Please sign in to continue."
          : `That token was not accepted: ${problemText(problem)}.`;
    // Whoever signs in next may be someone else (a shared machine): their own photo must not
    // wait for them in the composer. The typed words stay until we know (see the panel's
    // callback): the same person signing in again keeps them.
    const token = this.tokens.get();
    this.interrupted = { user: token === undefined ? undefined : tokenSubject(token) };
    this.tokens.forget();
    this.composer.clearAttachment();
    this.showSignIn(reason);
  }

  /** Signs out and leaves nothing of this person for the next: draft, keys, address, lists. */
  private signOut(): void {
    this.tokens.forget();
    this.interrupted = undefined;
    this.forgetPerson();
    this.showSignIn("");
    this.conversations = [];
    this.nextPageToken = "";
    this.renderSidebar();
    this.thread.showWelcome();
    document.title = "PhotoFun Studio";
  }

  /** Drops what belongs to the person signed in: the draft, its resend keys, the address. */
  private forgetPerson(): void {
    this.composer.clear();
    this.pendingCreate = undefined;
    this.retry = undefined;
    // The next person would otherwise land on a conversation that is not theirs.
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }

  private showSignIn(reason: string): void {
    this.session.abort();
    this.close();
    this.banner.hide();
    this.lightbox.close();
    this.sidebar.setOpen(false);
    this.shell.hidden = true;
    this.signIn.show(reason);
  }
}

async function main(): Promise<void> {
  const root = document.getElementById("app");
  if (root === null) throw new Error("index.html has no #app element");
  const config = await loadConfig();
  const tokens = new TokenStore(config.devToken);
  new App(createConversationClient(config, tokens), tokens, root).boot();
}

void main();
