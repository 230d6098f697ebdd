"""The socket's group commit: many sends in one transaction, with the statements of one send."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cordee.accounts.models import User
from cordee.audit.models import AuditEntry
from cordee.messaging.models import Conversation, Member, Message
from cordee.messaging.services import sending
from cordee.messaging.services.sending import SendError, SendRequest, SendResult, send_messages
from tests.messaging.conftest import new_key

pytestmark = pytest.mark.django_db


def _as_socket(user: User) -> User:
    return User.objects.select_related("professional").get(pk=user.pk)  # as the socket holds it


def _statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if q["sql"].split()[0].upper() not in ("BEGIN", "COMMIT")]


@pytest.mark.django_db(transaction=True)  # as in production: the batch's own transaction
def test_a_batch_runs_the_same_statements_whatever_its_size(alice, bob, threads):
    alice, bob = _as_socket(alice), _as_socket(bob)
    direct, care, patient = threads["direct"], threads["care"], threads["patient"]
    # Warm-up: the process keeps each conversation's data key (keys.py) after its first send.
    send_messages([SendRequest(alice, c.pk, "warm-up", new_key()) for c in (direct, care, patient)])
    small = [SendRequest(alice, direct.pk, "un", new_key()), SendRequest(bob, care.pk, "deux", new_key())]
    large = [
        SendRequest(user, conversation.pk, f"n{i}", new_key())
        for i in range(4)
        for user, conversation in ((alice, direct), (bob, direct), (alice, care), (bob, care))
    ] + [SendRequest(alice, patient.pk, "p", new_key())]
    counts = []
    for batch in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            results = send_messages(batch)
        assert all(isinstance(r, SendResult) for r in results)
        counts.append(len(_statements(ctx)))
    # membership, numbers, INSERT, notice marks, audit head + INSERT, the patient record's lines of
    # the care-team messages (one INSERT, cordee.documents.receivers); on PostgreSQL the ordered row
    # locks and the chain's advisory lock.
    assert counts == [7 + (2 if connection.vendor == "postgresql" else 0)] * 2


def test_numbers_of_a_batch_follow_each_other_per_conversation(alice, bob, threads):
    direct, care = threads["direct"], threads["care"]
    before = {c.pk: c.last_seq for c in Conversation.objects.filter(pk__in=[direct.pk, care.pk])}
    batch = [
        SendRequest(alice, direct.pk, "d1", new_key()),
        SendRequest(bob, care.pk, "c1", new_key()),
        SendRequest(bob, direct.pk, "d2", new_key()),
        SendRequest(alice, direct.pk, "d3", new_key()),
    ]
    results = send_messages(batch)
    seqs = [(r.message.conversation_id, r.message.seq) for r in results]
    d, c = before[direct.pk], before[care.pk]
    assert seqs == [(direct.pk, d + 1), (care.pk, c + 1), (direct.pk, d + 2), (direct.pk, d + 3)]
    stored = {m.seq: m.body for m in Message.objects.filter(conversation=direct, seq__gt=d)}
    assert stored == {d + 1: "d1", d + 2: "d2", d + 3: "d3"}  # each body decrypts at its place
    assert Conversation.objects.get(pk=direct.pk).last_seq == d + 3


def test_every_send_of_a_batch_has_its_audit_entry(alice, bob, threads):
    results = send_messages(
        [
            SendRequest(alice, threads["care"].pk, "équipe", new_key()),
            SendRequest(bob, threads["direct"].pk, "d", new_key()),
        ]
    )
    entries = AuditEntry.objects.filter(action="message.sent").order_by("seq")
    assert [(e.actor_id, e.target_id, e.details["seq"]) for e in entries] == [
        (alice.pk, str(results[0].message.pk), results[0].message.seq),
        (bob.pk, str(results[1].message.pk), results[1].message.seq),
    ]
    care_entry = entries[0]
    assert care_entry.patient_id == threads["care"].patient_id
    assert care_entry.category == AuditEntry.Category.ACCESS
    assert "équipe" not in str(care_entry.details) + care_entry.target_display  # no health data in the trail


def test_notice_marks_spare_a_lone_sender_only(alice, bob, sam, threads):
    direct, care = threads["direct"], threads["care"]
    Member.objects.update(email_pending_since=None)
    send_messages(
        [
            SendRequest(alice, direct.pk, "de Alice", new_key()),
            SendRequest(bob, direct.pk, "de Bob", new_key()),  # two senders: each is told of the other's
            SendRequest(alice, care.pk, "à l'équipe", new_key()),  # one sender: not told of her own
        ]
    )
    pending = set(Member.objects.filter(email_pending_since__isnull=False).values_list("conversation_id", "user_id"))
    assert pending == {(direct.pk, alice.pk), (direct.pk, bob.pk), (care.pk, bob.pk), (care.pk, sam.pk)}


def test_a_patient_reply_to_a_closed_thread_is_refused_alone(alice, paula, threads):
    patient, direct = threads["patient"], threads["direct"]
    Conversation.objects.filter(pk=patient.pk).update(replies_closed=True)
    results = send_messages(
        [
            SendRequest(paula, patient.pk, "Puis-je répondre ?", new_key()),
            SendRequest(alice, patient.pk, "Je vous écris", new_key()),
            SendRequest(alice, direct.pk, "À Bob", new_key()),
        ]
    )
    assert isinstance(results[0], SendError) and results[0].code == "closed"
    assert [type(r) for r in results[1:]] == [SendResult, SendResult]
    assert not Message.objects.filter(conversation=patient, sender=paula, body__isnull=False, seq__gt=patient.last_seq)


def test_a_thread_closed_between_the_check_and_the_numbers_sends_the_batch_one_by_one(
    alice, paula, threads, monkeypatch
):
    """The row read says open, the UPDATE finds it closed (another process closed it meanwhile)."""
    patient, direct = threads["patient"], threads["direct"]
    real = sending.access_conversations_to_write

    def read_then_close(wanted, *, purpose, members_only=False):
        found = real(wanted, purpose=purpose, members_only=members_only)
        Conversation.objects.filter(pk=patient.pk).update(replies_closed=True)
        return found

    monkeypatch.setattr(sending, "access_conversations_to_write", read_then_close)
    results = send_messages(
        [SendRequest(paula, patient.pk, "Merci docteur", new_key()), SendRequest(alice, direct.pk, "Bob ?", new_key())]
    )
    assert isinstance(results[0], SendError) and results[0].code == "closed"
    assert isinstance(results[1], SendResult)
    assert Message.objects.filter(conversation=direct, client_key=results[1].message.client_key).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("in_memory_layer")
def test_the_batcher_acknowledges_every_send_and_publishes_each_conversation_in_order(alice, bob, threads):
    """Thirty sends at once from two users: fewer commits than sends, and every receiver of a
    conversation's group gets its messages once each, in number order."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from cordee.messaging import events
    from cordee.messaging.batcher import SendBatcher

    users = {alice.pk: _as_socket(alice), bob.pk: _as_socket(bob)}
    direct, care = threads["direct"], threads["care"]

    async def scenario():
        layer = get_channel_layer()
        listeners = {}
        for conversation in (direct, care):
            listeners[conversation.pk] = await layer.new_channel()
            await layer.group_add(events.conversation_group(conversation.pk), listeners[conversation.pk])
        batcher = SendBatcher(max_batch=64)
        requests = [
            SendRequest(users[(alice.pk, bob.pk)[i % 2]], (direct, care)[i % 3 == 0].pk, f"m{i}", new_key())
            for i in range(30)
        ]
        results = await asyncio.gather(*(batcher.send(r) for r in requests))
        await batcher.idle()
        assert all(isinstance(r, SendResult) for r in results)
        assert batcher.sends == 30 and batcher.batches < 30
        for conversation in (direct, care):
            acked = sorted(r.message.seq for r in results if r.message.conversation_id == conversation.pk)
            received = []
            for _ in acked:
                event = await asyncio.wait_for(layer.receive(listeners[conversation.pk]), 2)
                received.append(json.loads(event["full"])["message"]["seq"])
            assert received == acked  # once each, in number order

    async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)  # the batch's own transactions, as in production
def test_a_refused_send_never_takes_the_audit_lock_before_the_batch_s_row_locks(alice, bob, charlie, threads):
    """Issue 21: a refusal audited while the batch read its conversations took the audit trail's
    lock first; the batch then waited for a row lock held by another batch waiting for the audit
    lock, until the database's deadlock timeout. Such a batch is now stored send by send, and no
    transaction writes an audit entry before it numbers its messages."""
    alice, bob, charlie = _as_socket(alice), _as_socket(bob), _as_socket(charlie)
    direct = threads["direct"]
    batch = [
        SendRequest(alice, direct.pk, "un", new_key()),
        SendRequest(charlie, direct.pk, "pas membre", new_key()),
        SendRequest(bob, direct.pk, "deux", new_key()),
    ]
    with CaptureQueriesContext(connection) as ctx:
        results = send_messages(batch)
    assert [type(r) for r in results] == [SendResult, SendError, SendResult]
    assert results[1].code == "not_found"
    assert AuditEntry.objects.filter(actor_id=charlie.pk, outcome=AuditEntry.Outcome.DENIED).count() == 1
    transactions: list[list[str]] = []
    for sql in (q["sql"] for q in ctx.captured_queries):
        if sql.split()[0].upper() == "BEGIN" or not transactions:
            transactions.append([])
        transactions[-1].append(sql)
    numbered = 0
    for statements in transactions:
        seqs = [i for i, sql in enumerate(statements) if sql.startswith('UPDATE "messaging_conversation"')]
        audits = [i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "audit_auditentry"')]
        if seqs:
            numbered += 1
            assert not audits or min(audits) > min(seqs), statements
    assert numbered >= 2  # alice's and bob's sends, each numbered in a transaction
