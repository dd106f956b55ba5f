"""What conversation_svc says to people, in the language of their message.

The texts are the services' message catalogue (`mesh.i18n.replies`, the ``.po`` files in
``mesh/locale``); this module only decides the language of a message's answer.
"""

from __future__ import annotations

from conversation_svc.model import Message
from mesh.i18n import language, replies, script_language


def lang_of(message: Message) -> str:
    """The language to answer `message` in: the one its analysis read it as, else the one its
    sender set, else a guess from the script of its prompt (English when there is none)."""
    analysed = message.analysis.lang if message.analysis else ""
    return language(analysed, message.lang, script_language(message.prompt))


def say(key: str, message: Message, /, **values: object) -> str:
    """The catalogue's `key` in the language of `message`, its placeholders filled."""
    return replies(key, lang_of(message), **values)


def view_name(angle: str, message: Message) -> str:
    """A view's name in the language of `message` ("side" → "bên hông"); a name this version
    has no words for (a newer image service's view) as it came."""
    key = f"angle.{angle}"
    return say(key, message) if angle and key in replies.messages("en") else angle or "?"
