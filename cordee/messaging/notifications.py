"""E-mail notices of waiting messages: they never carry health data.

A notice says only that a secure message is waiting, with a link to Cordée: no sender, no
conversation, no patient, no count, no text. It is debounced per user: the first message that
finds no notice pending marks the member "pending" (``sending``) and schedules the task
``send_waiting_notice`` to run after ``MESSAGING_EMAIL_DELAY_MINUTES``; the task clears every
pending mark of the user and sends one e-mail, only if something is still unread and no notice
went out within that delay. Sending a message never does e-mail work itself.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cordee.accounts.models import User
from cordee.messaging.models import Member, NoticeState
from cordee.messaging.reading import unread_total

logger = logging.getLogger(__name__)


def delay() -> dt.timedelta:
    return dt.timedelta(minutes=settings.MESSAGING_EMAIL_DELAY_MINUTES)


def schedule(user_ids: list[int]) -> None:
    """Schedule a notice task per user (call after the commit of the sends that flipped them)."""
    if not user_ids:
        return
    from cordee.messaging.tasks import send_waiting_notice  # in here: the task module imports this one

    task = send_waiting_notice
    if task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay())
    for user_id in user_ids:
        try:
            task.enqueue(user_id)
        except Exception:  # a notice is a courtesy: never fail the send that is already committed
            logger.exception("messaging: a waiting-message notice could not be scheduled")


def send_waiting_notice(user_id: int) -> bool:
    """Clear the user's pending marks and send one notice if still unread and not sent lately."""
    now = timezone.now()
    with transaction.atomic():
        user = User.objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            Member.objects.filter(user_id=user_id).update(email_pending_since=None)
            return False
        state, created = NoticeState.objects.select_for_update().get_or_create(
            user=user, defaults={"last_sent_at": now - 2 * delay()}
        )
        cleared = Member.objects.filter(user=user, email_pending_since__isnull=False).update(email_pending_since=None)
        if not cleared or not user.email or unread_total(user) == 0:
            return False
        if not created and state.last_sent_at > now - delay():
            return False
        state.last_sent_at = now
        state.save(update_fields=["last_sent_at"])
        subject, body = _notice_text()
        transaction.on_commit(lambda: send_mail(subject, body, None, [user.email]))
    return True


def _notice_text() -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        link = settings.SITE_URL + reverse("messaging:index")
        subject = _("[Cordée] A secure message is waiting for you")
        body = render_to_string("messaging/email/waiting.txt", {"link": link})
    return subject, body
