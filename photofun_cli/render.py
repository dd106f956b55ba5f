"""How the ``photofun`` command looks: the live watch view, the summary and the list tables.

Everything here turns protobuf messages into rich renderables and never talks to a server, so
it can be rendered into a string console and read.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.progress import BarColumn, Progress, SpinnerColumn, Task, TaskID, TextColumn
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from mesh.errors import ErrorInfo
from mesh.vocabulary import angle_name
from photofun.v1 import common_pb2
from photofun.v1 import conversation_service_pb2 as pb
from photofun_cli.client import TERMINAL, Retry, SavedImage
from photofun_cli.words import catalogue, count, current, number, say

STATUS_STYLE = {
    pb.MESSAGE_STATUS_PROCESSING: "bold cyan",
    pb.MESSAGE_STATUS_DONE: "bold green",
    pb.MESSAGE_STATUS_FAILED: "bold red",
    pb.MESSAGE_STATUS_CANCELLED: "bold yellow",
}
_MARK = {
    pb.MESSAGE_STATUS_DONE: "✓",
    pb.MESSAGE_STATUS_FAILED: "✗",
    pb.MESSAGE_STATUS_CANCELLED: "■",
}

_DONE = "[green]✓[/]"
_UNFILLED = {  # what a bar still empty at the end says: its mark, colour and words
    pb.MESSAGE_STATUS_DONE: ("[yellow]-[/]", "yellow", "unfilled.notProduced"),
    pb.MESSAGE_STATUS_FAILED: ("[red]✗[/]", "red", "unfilled.failed"),
    pb.MESSAGE_STATUS_CANCELLED: ("[yellow]■[/]", "yellow", "unfilled.cancelled"),
}


INTENT_WORDS = {  # as the web page says them (web/src/locales)
    common_pb2.INTENT_GENERATE_IMAGE: "intent.generateImage",
    common_pb2.INTENT_GENERATE_ANGLES: "intent.generateAngles",
    common_pb2.INTENT_STYLE_TRANSFER: "intent.styleTransfer",
    common_pb2.INTENT_EDIT_BACKGROUND: "intent.editBackground",
    common_pb2.INTENT_ENHANCE_IMAGE: "intent.enhanceImage",
    common_pb2.INTENT_CHAT: "intent.chat",
}


def intent_text(intent: common_pb2.Intent.ValueType) -> Text:
    """``Restyle an image (styleTransfer)``: words for people, the contract's name for scripts."""
    name = intent_name(intent)
    if not name:
        return Text("-")
    key = INTENT_WORDS.get(intent)
    words = say(key) if key else name
    return Text(words, style="bold").append(f" ({name})", style="dim")


def intent_name(intent: common_pb2.Intent.ValueType) -> str:
    """The seed's JSON string: ``INTENT_GENERATE_ANGLES`` → ``generateAngles``; "" if unknown."""
    if intent == common_pb2.INTENT_UNSPECIFIED:
        return ""
    first, *rest = common_pb2.Intent.Name(intent).removeprefix("INTENT_").lower().split("_")
    return first + "".join(word.capitalize() for word in rest)


def status_name(status: pb.MessageStatus.ValueType) -> str:
    """``MESSAGE_STATUS_DONE`` → ``DONE``."""
    return pb.MessageStatus.Name(status).removeprefix("MESSAGE_STATUS_")


def status_text(status: pb.MessageStatus.ValueType) -> Text:
    """A message status in its colour."""
    return Text(status_name(status), style=STATUS_STYLE.get(status, "bold"))


def _when(stamp: Timestamp) -> str:
    if not stamp.seconds:
        return ""
    return stamp.ToDatetime(dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M")


class _MarkColumn(SpinnerColumn):
    """A spinner while an image is pending, then the ``mark`` field (✓, ✗ or ■)."""

    def render(self, task: Task) -> RenderableType:
        mark = task.fields.get("mark")
        return Text.from_markup(mark) if mark else super().render(task)


class WatchView:
    """Live state of a watched message: a status line and one progress bar per expected image.

    Feed it every ``WatchMessageResponse`` with :meth:`update`; render it with rich ``Live``.
    It reads the whole message each time rather than counting events, so a resumed stream
    whose first response merges several changes still shows the right bars.
    """

    def __init__(self) -> None:
        self.progress = Progress(
            _MarkColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=32),
            TextColumn("{task.fields[note]}"),
        )
        self._bars: list[TaskID] = []
        self._filled: set[TaskID] = set()
        self._arrived = 0
        self._message: pb.Message | None = None
        self._spinner = Spinner("dots", style="cyan")

    def update(self, response: pb.WatchMessageResponse) -> None:
        """Take in one change of the message."""
        message = self._message = response.message
        angles = message.intent == common_pb2.INTENT_GENERATE_ANGLES
        wanted = max(message.expected_image_count, len(message.images))
        planned: list[int] = list(message.expected_angles)
        while len(self._bars) < wanted:
            number = len(self._bars) + 1
            label = say("watch.view" if angles else "watch.image", number=number, total=wanted)
            if len(planned) >= number:
                label = angle_name(message.expected_angles[number - 1]) or label
            waiting = f"[dim]{say('watch.waiting')}[/]"
            self._bars.append(self.progress.add_task(label, total=None, note=waiting))
        for index in range(self._arrived, len(message.images)):
            image = message.images[index]
            label = angle_name(image.angle) or say("watch.image", number=index + 1, total=wanted)
            note = say("watch.seed", seed=image.seed)
            note += f" · {image.provider}" if image.provider else ""
            bar = self._bar_for(image.angle, planned)
            self.progress.update(
                bar, description=label, total=1, completed=1, note=note, mark=_DONE
            )
            self._filled.add(bar)
        self._arrived = len(message.images)
        if message.status in TERMINAL:
            mark, colour, key = _UNFILLED[message.status]
            note = f"[{colour}]{say(key)}[/]"
            for bar in self._bars:
                if bar not in self._filled:
                    self.progress.update(bar, total=1, completed=0, note=note, mark=mark)
                    self.progress.stop_task(bar)

    def _bar_for(self, angle: int, planned: list[int]) -> TaskID:
        """The bar labelled with this angle when the plan is known, else the next free one."""
        if angle in planned:
            bar = self._bars[planned.index(angle)]
            if bar not in self._filled:
                return bar
        return next(b for b in self._bars if b not in self._filled)

    def status_line(self) -> RenderableType:
        """What the message is doing now, in one line (plus the refined prompt once known)."""
        message = self._message
        if message is None:
            self._spinner.update(text=Text(say("watch.sending")))
            return self._spinner
        line = status_text(message.status)
        if message.intent == common_pb2.INTENT_UNSPECIFIED:
            if message.status not in TERMINAL:
                line.append(f"  {say('watch.analysing')}", style="dim")
        else:
            line.append(f"  {say('watch.analysed')}", style="dim")
            line.append(intent_text(message.intent))
            if message.expected_image_count:
                images = count("count.images", message.expected_image_count)
                line.append(f" · {images}", style="dim")
        if message.status in TERMINAL:
            status_line: RenderableType = Text(_MARK.get(message.status, "•") + " ").append(line)
        else:
            self._spinner.update(text=line)
            status_line = self._spinner
        if not message.refined_prompt:
            return status_line
        refined = Table.grid(padding=(0, 1))  # a grid keeps wrapped lines indented
        refined.add_column(style="dim", no_wrap=True)
        refined.add_column(style="italic")
        refined.add_row(f"  {say('watch.refined')}", message.refined_prompt)
        return Group(status_line, refined)

    def __rich__(self) -> RenderableType:
        if not self._bars:
            return self.status_line()
        return Group(self.status_line(), self.progress)


def retry_notice(retry: Retry) -> Text:
    """One line saying a stream dropped and when it is tried again."""
    call = f"call.{retry.what}"
    if retry.what == "watch":
        what = say("retry.lost")
    else:  # the call in words; one this version has no words for by its name
        what = say(
            "retry.failed", what=say(call) if call in catalogue.messages("en") else retry.what
        )
    words = say(
        "retry.notice",
        what=what,
        code=retry.code,
        delay=number(retry.delay),
        attempt=retry.attempt,
        attempts=retry.attempts,
    )
    return Text(words, style="yellow")


def _elapsed(message: pb.Message) -> str:
    if not message.finish_time.seconds or not message.create_time.seconds:
        return ""
    seconds = message.finish_time.ToNanoseconds() - message.create_time.ToNanoseconds()
    return say("elapsed", seconds=number(seconds / 1e9))


def images_table(saved: Sequence[SavedImage], *, with_urls: bool = True) -> Table:
    """Angle, seed, session id, URL (optional) and saved file of each image; a column that no
    image fills (an edit has no angle, seed or session) is left out."""
    images = [item.image for item in saved]
    columns = {
        "angle": any(i.angle for i in images),
        "seed": any(i.seed for i in images),
        "session": any(i.session_id for i in images),
    }
    table = Table(header_style="bold")
    table.add_column("#", justify="right", style="dim")
    if columns["angle"]:
        table.add_column(say("table.angle"))
    if columns["seed"]:
        table.add_column(say("table.seed"), justify="right")
    if columns["session"]:
        table.add_column(say("table.session"), overflow="fold")
    if with_urls:
        table.add_column(say("table.url"), no_wrap=True, style="blue")
    table.add_column(say("table.savedAs"), overflow="fold")
    for item in saved:
        image = item.image
        where = (
            Text(item.path.name, style="green")
            if item.path
            else Text(say("table.notSaved", error=item.error), style="red")
        )
        row: list[RenderableType] = [str(item.index)]
        if columns["angle"]:
            row.append(angle_name(image.angle) or "-")
        if columns["seed"]:
            row.append(str(image.seed))
        if columns["session"]:
            row.append(image.session_id or "-")
        table.add_row(*row, *([image.image_url] if with_urls else []), where)
    return table


class ImagesView:
    """The images table with whole URLs when they fit, else without them and URLs listed below.

    A URL folded inside a cell cannot be copied in one piece, so it is never folded; print with
    ``crop=False`` so a URL longer than the terminal is left to the terminal to wrap.
    """

    def __init__(self, saved: Sequence[SavedImage]) -> None:
        self.saved = saved

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = images_table(self.saved)
        natural = Measurement.get(console, options.update(max_width=10_000), wide).maximum
        if natural <= options.max_width:
            yield wide
            return
        yield images_table(self.saved, with_urls=False)
        for item in self.saved:
            line = Text(f"{item.index} ", style="dim", no_wrap=True, overflow="ignore")
            yield line.append(item.image.image_url, style="blue")


def summary(message: pb.Message, saved: Sequence[SavedImage]) -> Group:
    """The end of a chat: what was understood, the reply, the images and the final status."""
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    ids = say(
        "summary.messageIds", message=message.message_id, conversation=message.conversation_id
    )
    facts.add_row(say("summary.message"), ids)
    facts.add_row(say("summary.requestId"), message.request_id or "-")
    facts.add_row(say("summary.intent"), intent_text(message.intent))
    if message.follow_up != common_pb2.FOLLOW_UP_UNSPECIFIED:
        facts.add_row(say("summary.continues"), follow_up_text(message))
    facts.add_row(say("summary.refined"), message.refined_prompt or "-")
    if message.keywords:
        facts.add_row(say("summary.keywords"), ", ".join(message.keywords))
    if message.reply:
        facts.add_row(say("summary.reply"), message.reply)
    parts: list[RenderableType] = [Padding(facts, (1, 0, 0, 0))]
    if saved:
        parts.append(ImagesView(saved))
    parts.append(final_line(message, saved))
    return Group(*parts)


_FOLLOW_UPS = {
    common_pb2.FOLLOW_UP_EDIT: "follow.edit",
    common_pb2.FOLLOW_UP_MORE_VIEWS: "follow.moreViews",
    common_pb2.FOLLOW_UP_CHANGE_SUBJECT: "follow.changeSubject",
    common_pb2.FOLLOW_UP_VARIATION: "follow.variation",
}


def follow_up_text(message: pb.Message) -> str:
    """``adds views to message 65f… (take 0)``: what a follow-up did with which result."""
    what = say(_FOLLOW_UPS.get(message.follow_up, "follow.continues"))
    source = message.source
    has_index = source.HasField("image_index")
    image = say("follow.image", index=source.image_index) if has_index else ""
    take = say("follow.take", take=message.variation) if message.variation else ""
    return say("follow.text", what=what, message=source.message_id, image=image, take=take)


def final_line(message: pb.Message, saved: Sequence[SavedImage]) -> Text:
    """The final status; for FAILED and CANCELLED the reason and message, in colour."""
    style = STATUS_STYLE.get(message.status, "bold")
    line = Text(f"{_MARK.get(message.status, '•')} ", style=style)
    line.append(status_text(message.status)).append(_elapsed(message), style="dim")
    if message.status in (pb.MESSAGE_STATUS_FAILED, pb.MESSAGE_STATUS_CANCELLED):
        colour = "red" if message.status == pb.MESSAGE_STATUS_FAILED else "yellow"
        if message.HasField("failure"):
            reason = message.failure.reason or "UNKNOWN"
            line.append(f" · {reason}: ", style=f"bold {colour}")
            line.append(message.failure.message or say("final.noReason"), style=colour)
    stored = [s for s in saved if s.path]
    if stored:
        line.append(count("final.saved", len(stored)))
        line.append(str(stored[0].path.parent if stored[0].path else ""), style="green")
    if len(stored) < len(saved):
        line.append(say("final.notSaved", count=len(saved) - len(stored)), style="bold red")
    return line


def error_text(code: grpc.StatusCode, details: str, info: ErrorInfo, server: str) -> Text:
    """A failed call as a person reads it: code, reason, message and what to do about it."""
    text = Text(say("error.prefix"), style="bold red").append(code.name, style="bold red")
    if info.reason and info.reason != code.name:
        text.append(f" ({info.reason})", style="red")
    # The server's details are English: another language gets the refusal worded by its reason
    # when the catalogue has words for it, with the wait RetryInfo asks for (an English reader
    # keeps the server's words, which carry the numbers).
    key = f"reason.{info.reason}"
    if current() != "en" and info.reason and key in catalogue.messages("en"):
        text.append(f": {say(key)}")
        if info.retry_delay is not None:
            text.append(say("error.retryIn", seconds=math.ceil(info.retry_delay)))
    else:
        text.append(f": {details or say('error.noDetails')}")
    if info.field:
        text.append(say("error.field", field=info.field), style="dim")
    if info.request_id:
        text.append(say("error.requestId", id=info.request_id), style="dim")
    hint = {
        grpc.StatusCode.UNAUTHENTICATED: "hint.unauthenticated",
        grpc.StatusCode.UNAVAILABLE: "hint.unavailable",
        grpc.StatusCode.NOT_FOUND: "hint.notFound",
    }.get(code)
    if code is grpc.StatusCode.UNAVAILABLE and _closed_at_once(details):
        hint = "hint.tls"
    if hint:
        text.append(say("error.hint", hint=say(hint, server=server)), style="yellow")
    return text


def _closed_at_once(details: str) -> bool:
    """Whether gRPC's words say the server closed the connection during the handshake: what a
    TLS-only server does to a plaintext client (and a plaintext one to a TLS client)."""
    words = details.lower()
    return "socket closed" in words or "handshake" in words or "ssl" in words


def conversations_table(conversations: Sequence[pb.Conversation]) -> Table:
    """The caller's conversations, as the server ordered them (newest first)."""
    table = Table(header_style="bold", box=box.SIMPLE_HEAD)
    table.add_column(say("list.conversation"), no_wrap=True)
    table.add_column(say("list.title"), ratio=1, min_width=20)
    table.add_column(say("list.messages"), justify="right", no_wrap=True)
    table.add_column(say("list.updated"), no_wrap=True)
    for item in conversations:
        table.add_row(
            item.conversation_id,
            item.title or Text(say("list.untitled"), style="dim"),
            str(item.message_count),
            _when(item.update_time),
        )
    return table


def messages_table(messages: Sequence[pb.Message]) -> Table:
    """A conversation's messages, oldest first: who/when/what on the left, the text on the right."""
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, expand=True)
    table.add_column(say("list.message"), no_wrap=True)
    table.add_column(say("list.promptReply"), ratio=1, overflow="fold")
    for item in messages:
        images = count("count.images", len(item.images))
        if item.expected_image_count:
            images = count("count.imagesOf", item.expected_image_count, done=len(item.images))
        about = Text(item.message_id).append(f"\n{_when(item.create_time)}", style="dim")
        about.append("\n").append(status_text(item.status))
        about.append(f" {intent_name(item.intent)}" if item.intent else "")
        about.append(f"\n{images}", style="dim")
        text = Text(item.prompt, style="bold")
        if item.HasField("failure"):
            text.append(f"\n{item.failure.reason}: ", style="bold red")
            text.append(item.failure.message, style="red")
        elif item.reply:
            text.append(f"\n{item.reply}")
        table.add_row(about, text)
    return table


def saved_files_json(saved: Sequence[SavedImage]) -> list[dict[str, object]]:
    """The saved files for ``--json`` output."""
    return [
        {
            "index": item.index,
            "angle": angle_name(item.image.angle),
            "url": item.image.image_url,
            "path": str(item.path) if item.path else None,
            "error": item.error or None,
        }
        for item in saved
    ]
