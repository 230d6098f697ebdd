"""E-mail notices: one per user and period, only while something is unread, never health data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from cordee.messaging.models import Member, NoticeState
from cordee.messaging.notifications import send_waiting_notice
from cordee.messaging.services.sending import SendRequest, after_send, send_messages
from tests.messaging.conftest import new_key

pytestmark = pytest.mark.django_db(transaction=True)  # notices are scheduled after the commit


def send(user, conversation, body):
    results = send_messages([SendRequest(user, conversation.pk, body, new_key())])
    after_send(results)
    return results[0]


def test_a_notice_says_only_that_a_message_waits(alice, paula, threads):
    send(alice, threads["patient"], "Vos résultats d'analyse : HbA1c à 9,2 %, on en reparle.")
    assert len(mail.outbox) == 1  # the immediate task backend of the tests runs the notice at once
    notice = mail.outbox[0]
    assert notice.to == [paula.email]
    text = notice.subject + notice.body
    for leak in ("HbA1c", "9,2", "analyse", "Alice", "Martin", "Bernard", "Paula"):
        assert leak not in text, leak
    assert "http://127.0.0.1:8000/messagerie/" in notice.body


def test_notices_are_batched_per_user(alice, bob, sam, threads):
    for i in range(5):
        send(alice, threads["direct"], f"message {i}")
        send(alice, threads["care"], f"équipe {i}")
    # Ten messages in two conversations: one e-mail each for Bob and Sam (care team), none for Alice.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([bob.email, sam.email])


def test_no_notice_once_read_and_the_pending_mark_is_cleared(alice, bob, threads):
    direct = threads["direct"]
    Member.objects.filter(conversation=direct, user=bob).update(email_pending_since=timezone.now())
    Member.objects.filter(user=bob).update(last_read_seq=10_000)  # Bob has read everything meanwhile
    assert send_waiting_notice(bob.pk) is False
    assert not mail.outbox
    assert not Member.objects.filter(user=bob, email_pending_since__isnull=False).exists()


def test_a_second_notice_waits_for_the_delay(alice, bob, threads, settings):
    send(alice, threads["direct"], "premier")
    assert len([m for m in mail.outbox if m.to == [bob.email]]) == 1
    send(alice, threads["direct"], "deuxième")  # within the delay: no new e-mail
    assert len([m for m in mail.outbox if m.to == [bob.email]]) == 1
    NoticeState.objects.filter(user=bob).update(
        last_sent_at=timezone.now() - dt.timedelta(minutes=settings.MESSAGING_EMAIL_DELAY_MINUTES + 1)
    )
    Member.objects.filter(user=bob).update(email_pending_since=None)
    send(alice, threads["direct"], "troisième")
    assert len([m for m in mail.outbox if m.to == [bob.email]]) == 2
