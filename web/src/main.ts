/** PhotoFun Studio in the browser: builds the views and the parts that drive them, and wires them. */

import { type ConversationClient, createConversationClient, loadConfig, TokenStore } from "./api";
import { Composer } from "./composer";
import { ConversationList } from "./conversations";
import { h } from "./dom";
import { applyToDocument, t } from "./i18n";
import { clearAddress, Navigator } from "./navigation";
import { ErrorBanner, Lightbox } from "./overlays";
import { explainUploadFailure, Sender } from "./sending";
import { Session } from "./session";
import { Sidebar } from "./sidebar";
import { SignInPanel } from "./signin";
import { ThreadView } from "./thread";

/**
 * The page in `root`. The views' callbacks name parts made after them: none runs before the
 * page is built (they answer clicks, the address and calls).
 */
function compose(client: ConversationClient, tokens: TokenStore, root: HTMLElement): Session {
  const banner = new ErrorBanner();
  const lightbox = new Lightbox();
  const sidebar = new Sidebar({
    create: () => nav.startNew(),
    select: (id) => nav.navigate(id),
    remove: (c) => void list.remove(c),
    more: () => void list.load(true),
    reload: () => void list.load(false),
    signOut: () => session.signOut(),
  });
  const composer: Composer = new Composer({
    submit: (draft) => sender.send(draft),
    upload: (data, filename, signal) => sender.upload(data, filename, signal),
    explain: explainUploadFailure,
    attachmentChanged: () => nav.current?.markContinuation(),
  });
  const thread: ThreadView = new ThreadView(
    composer.el,
    banner.el,
    (text) => composer.fill(text),
    () => nav.loadEarlier(),
  );
  const signIn = new SignInPanel((token) => session.signIn(token));
  composer.acceptDrops(thread.el);
  // The first thing Tab reaches: straight to the prompt box, past the list.
  const skip = h("a", { class: "skip-link", href: "#prompt" }, t("main.skip"));
  skip.addEventListener("click", (event) => {
    // Not by the address: `#prompt` would leave the conversation in it (`#/c/<id>`).
    event.preventDefault();
    composer.focus();
  });
  const shell = h("div", { class: "app", hidden: true }, skip, sidebar.el, thread.el);
  root.replaceChildren(shell, signIn.el, lightbox.el);
  // A picture dropped beside the drop areas must not replace the page with the file.
  for (const kind of ["dragover", "drop"] as const) {
    window.addEventListener(kind, (event) => {
      if (event.dataTransfer?.types.includes("Files")) event.preventDefault();
    });
  }

  const session: Session = new Session(tokens, signIn, shell, banner, {
    started: () => {
      list.reset();
      list.follow();
      nav.route();
      // Ready to type: the prompt box has focus when the page opens.
      composer.focus();
    },
    stopped: () => {
      nav.close();
      banner.hide();
      lightbox.close();
      sidebar.setOpen(false);
    },
    forgetPerson: () => {
      composer.clear();
      sender.forgetKeys();
      // The next person would otherwise land on a conversation that is not theirs.
      clearAddress("replace");
    },
    tokenRefused: () => composer.clearAttachment(),
    signedOut: () => {
      list.clear();
      nav.showWelcome();
    },
  });
  const list: ConversationList = new ConversationList(client, session, sidebar, {
    selectedId: () => nav.current?.id ?? "",
    creating: () => sender.creating,
    removed: (id) => nav.leave(id, "push"),
    // Deleted in another tab or device: Back must not lead to it.
    gone: (id) => nav.leave(id, "replace"),
  });
  const nav: Navigator = new Navigator({
    client,
    session,
    list,
    thread,
    sidebar,
    composer,
    lightbox,
    sendVariation: (conversationId, message, imageIndex) =>
      sender.sendVariation(conversationId, message, imageIndex),
  });
  const sender: Sender = new Sender(client, session, list, nav);
  return session;
}

async function main(): Promise<void> {
  const root = document.getElementById("app");
  if (root === null) throw new Error("index.html has no #app element");
  applyToDocument();
  const config = await loadConfig();
  const tokens = new TokenStore(config.devToken);
  compose(createConversationClient(config, tokens), tokens, root).boot();
}

void main();
