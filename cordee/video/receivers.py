"""Calls follow the conversation's members: a member removed (or leaving) is out of its calls at
once, in the same transaction; a host who goes ends the call."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from cordee.messaging.models import Member
from cordee.video import services
from cordee.video.models import Call, Participant


@receiver(post_delete, sender=Member, dispatch_uid="video.member_removed")
def member_removed(sender: Any, instance: Member, **kwargs: Any) -> None:
    calls = Call.objects.filter(conversation_id=instance.conversation_id, state=Call.State.ACTIVE).select_related(
        "conversation", "started_by"
    )
    for call in calls:
        user = instance.user
        if services.is_host(user, call):
            services.end_call(call, user, reason="left_conversation")
            continue
        if Participant.objects.filter(call=call, user_id=user.pk).exclude(state=Participant.State.LEFT).exists():
            services.do_leave(user, call, removed=True)
