from __future__ import annotations

from typing import Any

from django import template

from cordee.video.models import Call

register = template.Library()


@register.simple_tag
def call_in_progress(conversation: Any) -> Call | None:
    """The call in progress in a conversation the page already accessed (its member's)."""
    return Call.objects.filter(conversation_id=conversation.pk, state=Call.State.ACTIVE).first()
