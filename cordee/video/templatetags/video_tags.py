from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from cordee.video.models import Call

register = template.Library()


@register.simple_tag
def call_in_progress(conversation: Any) -> Call | None:
    """The call in progress in a conversation the page already accessed (its member's)."""
    return Call.objects.filter(conversation_id=conversation.pk, state=Call.State.ACTIVE).first()


@register.simple_tag
def call_tool_strings() -> dict[str, str]:
    """The banner's words, translated like the page."""
    return {
        "call": _("%(name)s is calling."),
        "teleconsultation": _("%(name)s started a teleconsultation."),
        "join": _("Join the call"),
        "joinTeleconsultation": _("Join the teleconsultation"),
        "close": _("Close"),
    }


@register.simple_tag
def ringing_socket_path() -> str:
    """The socket a page without one of its own opens for its incoming-call banner."""
    from cordee.video.views import SOCKET_PATH  # (views import this module's app: not at load)

    return SOCKET_PATH


@register.simple_tag
def thread_appointments(conversation: Any) -> list[dict[str, Any]]:
    """A patient thread's planned teleconsultations still to come, with their words (one query;
    none for other threads)."""
    if conversation.kind != "patient":
        return []
    from cordee.video import appointments  # (it imports messaging's services: loaded on first use)

    return [{"appointment": a, "when": appointments.when_text(a)} for a in appointments.of_thread(conversation)]


@register.simple_tag
def appointment_lengths() -> tuple[int, ...]:
    from cordee.video.appointments import LENGTHS  # (as above)

    return LENGTHS
