"""``photofun``: send a chat message, watch it turn into images, save them; list what you sent.

    photofun chat "2019 Renault Clio blue hatchback, front side rear"
    photofun conversations
    photofun messages CONVERSATION_ID
    photofun token --user alice
    photofun trace MESSAGE_ID
    photofun providers check          # operators: are the configured cloud models working?

The gRPC calls live in ``client``, the looks in ``render``; this module parses the
command line, reads the environment once (``CliSettings``) and wires the two together.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
from google.protobuf.json_format import MessageToDict
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

from mesh.auth import AUDIENCE, DEV_SECRET_FILE, ISSUER, dev_secret, mint_token
from mesh.errors import error_info
from mesh.limits import title_of
from mesh.settings import shared
from mesh.vocabulary import LANGUAGES
from photofun.v1 import common_pb2
from photofun.v1 import conversation_service_pb2 as pb
from photofun_cli import providers as cloud
from photofun_cli import words
from photofun_cli.client import (
    ConversationClient,
    Fitted,
    download_images,
    fit_for_upload,
)
from photofun_cli.render import (
    WatchView,
    conversations_table,
    error_text,
    final_line,
    intent_name,
    messages_table,
    retry_notice,
    saved_files_json,
    summary,
)
from photofun_cli.trace import read_trace, waterfall
from photofun_cli.words import say

DEFAULT_SERVER = "127.0.0.1:50053"
DEFAULT_USER = "dev-user"
FORMATS = {
    "png": common_pb2.IMAGE_FORMAT_PNG,
    "jpeg": common_pb2.IMAGE_FORMAT_JPEG,
    "webp": common_pb2.IMAGE_FORMAT_WEBP,
}
EXIT_FAILED, EXIT_CANCELLED, EXIT_INTERRUPTED = 1, 2, 130
TRACE_ID = re.compile(r"[0-9a-f]{32}")


class CliSettings(BaseSettings):
    """What the command reads from the environment (and ``.env``); flags win over these."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    server: str = Field(DEFAULT_SERVER, validation_alias=shared("PHOTOFUN_SERVER"))
    token: SecretStr | None = Field(None, validation_alias=shared("PHOTOFUN_TOKEN"))
    jwt_secret: SecretStr = Field(SecretStr(""), validation_alias=shared("JWT_SECRET"))
    jwt_issuer: str = Field(ISSUER, validation_alias=shared("JWT_ISSUER"))
    jwt_audience: str = Field(AUDIENCE, validation_alias=shared("JWT_AUDIENCE"))
    user: str = Field(DEFAULT_USER, validation_alias=shared("USER"))
    tls: bool = Field(False, validation_alias=shared("PHOTOFUN_TLS"))
    cacert: str = Field("", validation_alias=shared("PHOTOFUN_CACERT"))
    cert: str = Field("", validation_alias=shared("PHOTOFUN_CERT"))
    key: str = Field("", validation_alias=shared("PHOTOFUN_KEY"))


class NoToken(Exception):
    """Neither a token nor a secret to sign a dev token with."""


class BadTlsFiles(Exception):
    """A certificate or key file that cannot be used."""


@dataclass(frozen=True)
class Ui:
    """Where output goes: results on ``out``; notes on ``out``, or ``err`` under ``--json``."""

    out: Console
    err: Console
    json: bool = False

    def note(self, renderable: RenderableType) -> None:
        """A side remark (dev token, reconnects) that must not spoil JSON output."""
        (self.err if self.json else self.out).print(renderable)


Handler = Callable[[argparse.Namespace, CliSettings, Ui], Awaitable[int]]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``photofun`` console script; returns the exit status."""
    return run(argv)


def run(
    argv: Sequence[str] | None = None, *, out: Console | None = None, err: Console | None = None
) -> int:
    """Parse ``argv`` and run the command, printing to the given consoles."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # The language first: --help and argparse's errors are worded in it too.
    words.use(words.from_arguments(argv) or words.from_environment(os.environ))
    with words.argparse_words():
        args = build_parser().parse_args(argv)
    args.lang = getattr(args, "lang", None) or args.lang_first
    if args.lang:
        words.use(args.lang)
    ui = Ui(out or Console(), err or Console(stderr=True), json=getattr(args, "json", False))
    try:
        return asyncio.run(_dispatch(args, CliSettings(), ui))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per verb, its help in the command's language."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help=say("help.server", default=DEFAULT_SERVER))
    common.add_argument("--token", help=say("help.token"))
    common.add_argument("--user", help=say("help.user"))
    common.add_argument("--tls", action="store_true", default=None, help=say("help.tls"))
    common.add_argument("--cacert", help=say("help.cacert"))
    common.add_argument("--cert", help=say("help.cert"))
    common.add_argument("--key", help=say("help.key"))
    common.add_argument("--lang", choices=list(LANGUAGES), help=say("help.lang"))
    parser = argparse.ArgumentParser(prog="photofun", description=say("help.description"))
    # Also before the verb (photofun --lang vi chat ...); the verb's own --lang wins.
    parser.add_argument("--lang", dest="lang_first", choices=list(LANGUAGES), help=say("help.lang"))
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    _add_chat(verbs, common)
    _add_lists(verbs, common)
    _add_operators(verbs, common)
    return parser


def _add_chat(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    chat = verbs.add_parser("chat", parents=[common], help=say("help.chat"))
    chat.add_argument("prompt", nargs="?", default="", help=say("help.prompt"))
    chat.add_argument("--style", default="", help=say("help.style"))
    chat.add_argument("--topic", default="", help=say("help.topic"))
    image = chat.add_mutually_exclusive_group()
    image.add_argument("--image", type=Path, help=say("help.image"))
    image.add_argument("--image-url", default="", help=say("help.imageUrl"))
    chat.add_argument("--format", choices=sorted(FORMATS), help=say("help.format"))
    chat.add_argument("--conversation", help=say("help.conversation"))
    chat.add_argument("--from", dest="source", metavar="MESSAGE[:INDEX]", help=say("help.from"))
    chat.add_argument("--variation", action="store_true", help=say("help.variation"))
    chat.add_argument("--seed", type=_seed, help=say("help.seed"))
    chat.add_argument("--out", type=Path, default=Path("photofun-out"), help=say("help.out"))
    chat.add_argument("--json", action="store_true", help=say("help.jsonChat"))
    chat.set_defaults(handler=_chat)


def _add_lists(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    convs = verbs.add_parser("conversations", parents=[common], help=say("help.conversations"))
    convs.add_argument("--limit", type=int, default=20, help=say("help.limit", default=20))
    convs.add_argument("--json", action="store_true", help=say("help.json"))
    convs.set_defaults(handler=_conversations)

    msgs = verbs.add_parser("messages", parents=[common], help=say("help.messages"))
    msgs.add_argument("conversation_id", help=say("help.conversationId"))
    msgs.add_argument("--limit", type=int, default=100, help=say("help.limit", default=100))
    msgs.add_argument("--json", action="store_true", help=say("help.json"))
    msgs.set_defaults(handler=_messages)


def _add_operators(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    tr = verbs.add_parser("trace", parents=[common], help=say("help.trace"))
    tr.add_argument("message_id", help=say("help.messageId"))
    traces = Path("var/traces.jsonl")
    tr.add_argument("--traces", type=Path, default=traces, help=say("help.traces", default=traces))
    tr.set_defaults(handler=_trace)

    token = verbs.add_parser("token", help=say("help.tokenVerb"))
    token.add_argument("--user", help=say("help.tokenUser"))
    token.set_defaults(handler=_token)

    providers = verbs.add_parser("providers", help=say("help.providers"))
    provider_verbs = providers.add_subparsers(dest="provider_verb", required=True, metavar="VERB")
    check = provider_verbs.add_parser("check", help=say("help.check"))
    check.add_argument("--no-seed", action="store_true", help=say("help.noSeed"))
    check.add_argument(
        "--timeout", type=float, default=120.0, help=say("help.timeout", default=120)
    )
    check.add_argument("--json", action="store_true", help=say("help.json"))
    check.set_defaults(handler=_providers_check)


async def _providers_check(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    del settings  # the providers' own names: GEMINI_API_KEY, OPENAI_API_KEY ...
    probes = await cloud.check(
        cloud.ProviderSettings(), seed=not args.no_seed, timeout=args.timeout
    )
    if args.json:
        ui.out.print_json(data=cloud.as_json(probes))
    elif not probes:
        ui.out.print(say("providers.none"))
    else:
        ui.out.print(cloud.table(probes))
    return 0 if all(p.ok for p in probes) else EXIT_FAILED


async def _dispatch(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    handler: Handler = args.handler
    try:
        return await handler(args, settings, ui)
    except grpc.aio.AioRpcError as exc:
        server = getattr(args, "server", None) or settings.server
        ui.err.print(error_text(exc.code(), exc.details() or "", error_info(exc), server))
        return EXIT_FAILED
    except (ConnectionError, NoToken, BadTlsFiles) as exc:
        ui.err.print(Text(say("main.errorLine", problem=exc), style="bold red"))
        return EXIT_FAILED


def _user(args: argparse.Namespace, settings: CliSettings) -> str:
    return args.user or settings.user.strip() or DEFAULT_USER


def _dev_token(args: argparse.Namespace, settings: CliSettings) -> tuple[str, str]:
    user = _user(args, settings)
    secret = settings.jwt_secret.get_secret_value()
    which = say("token.fromEnv")
    if not secret:
        secret, which = dev_secret() or "", say("token.fromRun", file=DEV_SECRET_FILE)
    if not secret:
        raise NoToken(say("token.none", file=DEV_SECRET_FILE))
    about = say("token.about", user=repr(user), which=which)
    token = mint_token(secret, user, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return token, about


def _bearer(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> str:
    if args.token:
        return str(args.token)
    if settings.token is not None and settings.token.get_secret_value().strip():
        return settings.token.get_secret_value().strip()
    token, about = _dev_token(args, settings)
    ui.note(Text(say("token.using", about=about), style="dim"))
    return token


@contextlib.asynccontextmanager
async def _connect(
    args: argparse.Namespace, settings: CliSettings, ui: Ui
) -> AsyncIterator[ConversationClient]:
    token = _bearer(args, settings, ui)
    target = args.server or settings.server
    credentials = _tls(args, settings)
    channel = (
        grpc.aio.insecure_channel(target)
        if credentials is None
        else grpc.aio.secure_channel(target, credentials)
    )
    async with channel:
        yield ConversationClient(channel, token, on_retry=lambda r: ui.note(retry_notice(r)))


def _tls(args: argparse.Namespace, settings: CliSettings) -> grpc.ChannelCredentials | None:
    """TLS credentials when asked for (any of --tls, --cacert, --cert, --key), else None."""
    cacert = getattr(args, "cacert", None) or settings.cacert
    cert = getattr(args, "cert", None) or settings.cert
    key = getattr(args, "key", None) or settings.key
    wanted = getattr(args, "tls", None)
    if not (wanted if wanted is not None else settings.tls) and not (cacert or cert or key):
        return None
    if bool(cert) != bool(key):
        raise BadTlsFiles(say("tls.pair"))

    def read(path: str) -> bytes | None:
        if not path:
            return None
        try:
            return Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise BadTlsFiles(say("args.cannotRead", path=path, reason=exc.strerror)) from exc

    return grpc.ssl_channel_credentials(
        root_certificates=read(cacert), private_key=read(key), certificate_chain=read(cert)
    )


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(say("args.seed"))
    return value


def _reference(text: str | None) -> pb.ResultReference | None:
    """``MESSAGE`` or ``MESSAGE:INDEX`` → a ResultReference (ValueError when malformed)."""
    if not text:
        return None
    message_id, _, index = text.partition(":")
    if not message_id or (index and not index.isdigit()):
        raise ValueError(say("args.from", text=repr(text)))
    return pb.ResultReference(message_id=message_id, image_index=int(index) if index else None)


def _read_and_fit(path: Path) -> Fitted:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(say("args.cannotRead", path=path, reason=exc.strerror)) from exc
    return fit_for_upload(raw, path.name)


async def _load_image(path: Path) -> Fitted:
    """Read a picture to attach, scaled to the upload limit (ValueError says what is wrong)."""
    return await asyncio.to_thread(_read_and_fit, path)


def _chat_problem(args: argparse.Namespace) -> str:
    """What is wrong with the chat command's arguments, or "" when nothing is."""
    if (args.variation or args.source) and not args.conversation:
        return say("args.needsConversation")
    if not args.prompt.strip() and not args.variation:
        return say("args.sayWhat")
    try:
        _reference(args.source)
    except ValueError as exc:
        return str(exc)
    return ""


async def _chat(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    if problem := _chat_problem(args):
        ui.err.print(Text(say("main.errorLine", problem=problem), style="bold red"))
        return EXIT_FAILED
    image: Fitted | None = None
    if args.image is not None:
        try:
            image = await _load_image(args.image)
        except ValueError as exc:
            ui.err.print(Text(say("main.errorLine", problem=exc), style="bold red"))
            return EXIT_FAILED
        if image.note:
            ui.note(Text(image.note, style="dim"))
    async with _connect(args, settings, ui) as client:
        image_url = args.image_url
        if image is not None:
            uploaded = await client.upload_image(image.data, image.filename)
            image_url = uploaded.image_url
            size = f"{uploaded.width}×{uploaded.height}"
            uploaded_words = say("upload.done", name=args.image.name, size=size, url=image_url)
            ui.note(Text(uploaded_words, style="dim"))
        conversation_id = args.conversation
        if not conversation_id:
            conversation = await client.create_conversation(title_of(args.prompt))
            conversation_id = conversation.conversation_id
        request = pb.SendMessageRequest(
            conversation_id=conversation_id,
            prompt=args.prompt.strip() or "another version",
            style=args.style,
            lang=args.lang or "",
            topic=args.topic,
            image_url=image_url,
            idempotency_key=uuid.uuid4().hex,  # the same key on every retry of this send
            format=FORMATS[args.format] if args.format else common_pb2.IMAGE_FORMAT_UNSPECIFIED,
            seed=args.seed,
            reference=_reference(args.source),
            variation=args.variation,
        )
        made = "" if args.conversation else conversation_id
        message = await _send(client, request, ui, made=made)
        try:
            final = await _follow(client, message, ui)
        except (
            asyncio.CancelledError
        ):  # Ctrl-C: asyncio.run cancels us, then raises KeyboardInterrupt
            await _cancel(client, message.message_id, ui)
            raise
    async with httpx.AsyncClient(timeout=60.0, follow_redirects=True) as http:
        saved = await download_images(final, args.out, http)
    if ui.json:
        document = {
            "message": MessageToDict(final),
            "intent": intent_name(final.intent),
            "files": saved_files_json(saved),
        }
        ui.out.out(json.dumps(document, indent=2, ensure_ascii=False), highlight=False)
    else:
        ui.out.print(summary(final, saved), crop=False)  # whole URLs, see ImagesView
    if final.status == pb.MESSAGE_STATUS_CANCELLED:
        return EXIT_CANCELLED
    if final.status == pb.MESSAGE_STATUS_DONE and all(item.path for item in saved):
        return 0
    return EXIT_FAILED


async def _send(
    client: ConversationClient, request: pb.SendMessageRequest, ui: Ui, *, made: str
) -> pb.Message:
    """Send the message; a refused one removes the conversation ``made`` for it (it would stay
    empty, titled with the refused prompt), and Ctrl-C before the reply cancels it."""
    try:
        return await client.send_message(request)
    except grpc.aio.AioRpcError:
        if made:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await client.delete_if_empty(made)
        raise
    except asyncio.CancelledError:
        # Ctrl-C before the reply: the message may exist already. Sending again with the
        # same key returns it (or makes it) so it can be cancelled: nothing keeps working
        # unseen.
        with contextlib.suppress(grpc.aio.AioRpcError, TimeoutError):
            async with asyncio.timeout(10):
                message = await client.send_message(request)
                await _cancel(client, message.message_id, ui)
        raise


async def _follow(client: ConversationClient, message: pb.Message, ui: Ui) -> pb.Message:
    """Watch the message to its end, live on screen unless ``--json``."""
    latest = message
    if ui.json:
        async for response in client.watch(message.message_id):
            latest = response.message
        return latest
    view = WatchView()
    view.update(pb.WatchMessageResponse(message=message))
    with _showing(view, ui.out):
        async for response in client.watch(message.message_id):
            view.update(response)
            latest = response.message
    return latest


@contextlib.contextmanager
def _showing(view: WatchView, console: Console) -> Iterator[None]:
    """Animate ``view`` on a terminal; into a pipe or file, print its last state once."""
    if console.is_terminal:
        with Live(view, console=console, refresh_per_second=12):
            yield
        return
    try:
        yield
    finally:
        console.print(view)


async def _cancel(client: ConversationClient, message_id: str, ui: Ui) -> None:
    ui.err.print(Text(say("cancel.interrupted", id=message_id), style="yellow"))
    try:
        cancelled = await client.cancel_message(message_id)
    except grpc.aio.AioRpcError as exc:
        ui.err.print(error_text(exc.code(), exc.details() or "", error_info(exc), ""))
        return
    ui.err.print(final_line(cancelled, []))


async def _conversations(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    async with _connect(args, settings, ui) as client:
        found = await client.conversations(max(1, args.limit))
    if ui.json:
        document = {"conversations": [MessageToDict(c) for c in found]}
        ui.out.out(json.dumps(document, indent=2, ensure_ascii=False), highlight=False)
    elif not found:
        ui.out.print(say("list.noConversations"))
    else:
        ui.out.print(conversations_table(found))
    return 0


async def _messages(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    async with _connect(args, settings, ui) as client:
        found = await client.messages(args.conversation_id, max(1, args.limit))
    if ui.json:
        document = {"messages": [MessageToDict(m) for m in found]}
        ui.out.out(json.dumps(document, indent=2, ensure_ascii=False), highlight=False)
    elif not found:
        ui.out.print(say("list.noMessages"))
    else:
        ui.out.print(messages_table(found))
    return 0


async def _trace(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    trace_id = args.message_id.lower()
    if not TRACE_ID.fullmatch(trace_id):
        async with _connect(args, settings, ui) as client:
            message = await client.get_message(args.message_id)
        trace_id = message.trace_id
        if not trace_id:
            ui.err.print(Text(say("trace.noId"), style="red"))
            return EXIT_FAILED
    lines = waterfall(read_trace(args.traces, trace_id))
    if not lines:
        ui.err.print(Text(say("trace.noSpans", trace=trace_id, file=args.traces), style="red"))
        return EXIT_FAILED
    ui.out.out(f"trace {trace_id}", highlight=False)
    for line in lines:
        ui.out.out(line, highlight=False)
    return 0


async def _token(args: argparse.Namespace, settings: CliSettings, ui: Ui) -> int:
    token, about = _dev_token(args, settings)
    ui.err.print(Text(about, style="dim"))
    ui.out.out(token, highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
