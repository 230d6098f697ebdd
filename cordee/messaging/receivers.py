"""Keeping sockets and care-team threads in step with what changes elsewhere.

- ``care_team_changed`` (cordee.care, sent after commit): the user joins or leaves the patient's
  care-team thread; a user who left has their sockets unsubscribed at once (``events._left``).
- ``notices_approved`` (cordee.security, after commit): the breach notices become secure messages.
- ``Staff.acts_for`` changes: the staff member's sockets re-check what they may read.
- a session ended (sign-out, revocation) or all of a user's (deactivation, password change, last
  second factor removed): the sockets opened with it close (``cordee.accounts.sessions``).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from cordee.accounts.models import Staff
from cordee.accounts.sessions import session_ended, sessions_invalidated
from cordee.care.signals import care_team_changed, patient_thread_close_requested
from cordee.messaging import breach_notices, events
from cordee.messaging.services.conversations import close_thread_after_opposition, do_follow_care_team
from cordee.security.signals import notices_approved


def session_tag(session_key: str | None) -> str:
    """What travels on the channel layer instead of a session key."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


@receiver(care_team_changed, dispatch_uid="messaging.care_team_changed")
def on_care_team_changed(sender: Any, *, patient_id: int, user_id: int, joined: bool, **kwargs: Any) -> None:
    do_follow_care_team(patient_id, user_id, joined)


@receiver(notices_approved, dispatch_uid="messaging.notices_approved")
def on_notices_approved(
    sender: Any, *, incident_id: int, officer_id: int, notice_ids: list[int], **kwargs: Any
) -> None:
    """An officer approved an incident's notices: each goes to its patient as a secure message too."""
    breach_notices.deliver(incident_id, officer_id, notice_ids)


@receiver(patient_thread_close_requested, dispatch_uid="messaging.patient_thread_close_requested")
def on_patient_thread_close_requested(
    sender: Any, *, patient_id: int, professional_id: int, by: Any, request: Any = None, **kwargs: Any
) -> None:
    """The patient, opposing sharing with a professional, closes her own thread with them too."""
    close_thread_after_opposition(patient_id, professional_id, by, request=request)


@receiver(m2m_changed, sender=Staff.acts_for.through, dispatch_uid="messaging.acts_for_changed")
def on_acts_for_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:  # professional.assistants changed: every staff member named, or all of them on clear
        ids = list(Staff.objects.filter(pk__in=pk_set).values_list("user_id", flat=True)) if pk_set else []
        if action == "post_clear":
            ids = []  # Django gives no pk_set on clear; their next connection sees the change
    else:
        ids = [instance.user_id]
    events.publish_on_commit([events.resync_event(uid) for uid in ids])


@receiver(session_ended, dispatch_uid="messaging.session_ended")
def on_session_ended(sender: Any, session_key: str, **kwargs: Any) -> None:
    """A session was deleted (sign-out, revocation…), committed: its sockets close, on every instance."""
    tag = session_tag(session_key)
    events.publish([(events.session_group(tag), {"type": "msg.session_ended", "session": tag})])


@receiver(sessions_invalidated, dispatch_uid="messaging.sessions_invalidated")
def on_sessions_invalidated(sender: Any, user_id: int, reason: str, **kwargs: Any) -> None:
    """Every session of the user is over (deactivation, password, last factor): every socket closes."""
    events.publish([(events.user_group(user_id), {"type": "msg.sessions_ended", "reason": reason})])
