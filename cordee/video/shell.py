"""What video shows in the shell: the call tool of a conversation's page (start or join, and the
incoming-call banner's script), the incoming-call banner of every other page, and the words of
teleconsultations in a patient's history."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from cordee.lib import modules
from cordee.video import appointments, purposes


def _member(user: Any, conversation: Any) -> bool:
    return getattr(conversation, "membership", None) is not None


def _describe(n: int) -> str:
    return ngettext(
        "%(n)s teleconsultation in the next 24 hours", "%(n)s teleconsultations in the next 24 hours", n
    ) % {"n": n}


def register() -> None:
    modules.register(
        modules.Entry(
            key="teleconsultations",
            label=pgettext_lazy("navigation", "Video"),  # short: the side navigation is narrow
            url_name="video:appointments",
            description=_("Planned teleconsultations, soonest first"),
            icon="video",
            kinds=frozenset({modules.PROFESSIONAL, modules.PATIENT}),
            waiting=modules.Waiting(rows=appointments.due_soon, describe=_describe),
            order=48,
            push_text=_("A teleconsultation starts soon"),
        )
    )
    modules.register_conversation_tool(
        modules.ConversationTool(
            key="video", template="video/_tool.html", script="video/ring.js", applies=_member, order=10
        )
    )
    # Every page of a user with messaging (the socket that carries calls): a call starting in one
    # of their conversations rings wherever they are in Cordée, not only on its page.
    modules.register_shell_tool(
        modules.ShellTool(key="video-ring", template="video/_ringing.html", module="messagerie")
    )
    modules.register_purposes(purposes.LABELS)
    modules.register_purposes(purposes.ACTIONS)
