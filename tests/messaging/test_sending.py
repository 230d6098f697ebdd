"""The send path: a fixed number of queries, numbers without gaps, batches, encryption at rest."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from cordee.accounts.models import User
from cordee.audit.models import AuditEntry
from cordee.messaging.models import Conversation, Message
from cordee.messaging.services.editing import do_edit_message
from cordee.messaging.services.sending import SendError, SendRequest, SendResult, send_messages
from tests.conftest import postgres_run_only
from tests.messaging.conftest import new_key

pytestmark = pytest.mark.django_db


def _statements(ctx) -> list[str]:
    """The SQL statements run, without the transaction's own BEGIN/COMMIT."""
    return [q["sql"] for q in ctx.captured_queries if q["sql"].split()[0].upper() not in ("BEGIN", "COMMIT")]


@pytest.mark.django_db(transaction=True)  # as in production: the send's own transaction, no test savepoint
def test_a_send_runs_a_fixed_number_of_queries(alice, threads):
    """Pinned: access (1), number (1), INSERT (1), e-mail mark (1), audit head + INSERT (2), and on
    PostgreSQL the audit chain's advisory lock (1); the conversation's data key is kept by the process
    (keys.py). Any new query on this path must be a choice."""
    user = User.objects.select_related("professional").get(pk=alice.pk)  # as the socket holds it
    direct = threads["direct"]
    send_messages([SendRequest(user, direct.pk, "warm-up", new_key())])
    expected = 6 + (1 if connection.vendor == "postgresql" else 0)
    for body in ("un", "deux", "trois"):  # the same for every send, not only the first
        with CaptureQueriesContext(connection) as ctx:
            (result,) = send_messages([SendRequest(user, direct.pk, body, new_key())])
        assert isinstance(result, SendResult)
        assert len(_statements(ctx)) == expected, _statements(ctx)


def test_numbers_follow_each_other_and_an_edit_takes_the_next_one(alice, bob, threads):
    direct = threads["direct"]
    results = send_messages([SendRequest(alice, direct.pk, f"m{i}", new_key()) for i in range(3)])
    assert [r.message.seq for r in results] == [3, 4, 5]
    do_edit_message(alice, results[0].message.pk, "m0 corrigé")
    edited = Message.objects.get(pk=results[0].message.pk)
    assert (edited.seq, edited.rev_seq, edited.body) == (3, 6, "m0 corrigé")
    assert Conversation.objects.get(pk=direct.pk).last_seq == 6


def test_a_batch_commits_together_and_each_refusal_stays_its_own(alice, charlie, threads):
    direct, care = threads["direct"], threads["care"]
    repeated = new_key()
    requests = [
        SendRequest(alice, direct.pk, "premier", repeated),
        SendRequest(alice, direct.pk, "   ", new_key()),
        SendRequest(charlie, direct.pk, "intrus", new_key()),
        SendRequest(alice, care.pk, "équipe", new_key()),
        SendRequest(alice, direct.pk, "premier", repeated),  # the same send twice in one batch
    ]
    results = send_messages(requests)
    assert [type(r).__name__ for r in results] == ["SendResult", "SendError", "SendError", "SendResult", "SendResult"]
    assert [r.code for r in results if isinstance(r, SendError)] == ["empty", "not_found"]
    assert results[4].duplicate and results[4].message.pk == results[0].message.pk
    assert Message.objects.filter(conversation=direct).count() == 3
    assert AuditEntry.objects.filter(action="message.sent").count() == 2
    assert AuditEntry.objects.filter(action="messaging.refused", actor_id=charlie.pk).count() == 1


def test_bodies_are_stored_encrypted(alice, threads):
    (result,) = send_messages([SendRequest(alice, threads["care"].pk, "Glycémie 1,8 g/L ce matin", new_key())])
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM messaging_message WHERE id = %s", [result.message.pk])
        (raw,) = cursor.fetchone()
    assert b"Glyc" not in bytes(raw) and b"1,8" not in bytes(raw)
    assert Message.objects.get(pk=result.message.pk).body == "Glycémie 1,8 g/L ce matin"


def test_a_ciphertext_moved_to_another_message_does_not_decrypt(alice, threads):
    from cordee.vault.errors import DecryptionError

    first, second = send_messages(
        [SendRequest(alice, threads["direct"].pk, text, new_key()) for text in ("vrai", "autre")]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM messaging_message WHERE id = %s", [first.message.pk])
        (raw,) = cursor.fetchone()
        cursor.execute("UPDATE messaging_message SET body = %s WHERE id = %s", [raw, second.message.pk])
    with pytest.raises(DecryptionError):
        _ = Message.objects.get(pk=second.message.pk).body


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_get_distinct_numbers_without_gaps(alice, bob, threads):
    postgres_run_only("numbering under concurrent writers")
    direct = threads["direct"]
    errors: list[BaseException] = []

    def sender(user, n):
        try:
            for i in range(n):
                send_messages([SendRequest(user, direct.pk, f"{user.pk}-{i}", new_key())])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=sender, args=(u, 15)) for u in (alice, bob, alice, bob)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    seqs = sorted(Message.objects.filter(conversation=direct).values_list("seq", flat=True))
    assert seqs == list(range(1, 63))


def test_a_conversation_whose_keys_were_shredded_takes_no_more_messages(alice, threads):
    from cordee.messaging import keys
    from cordee.vault.services import do_shred

    care = threads["care"]
    send_messages([SendRequest(alice, care.pk, "avant", new_key())])
    do_shred(care, by=alice, reason="Effacement à la demande de la patiente")
    keys.forget(care.pk)  # other processes forget it within keys.KEY_TTL_SECONDS
    (result,) = send_messages([SendRequest(alice, care.pk, "après", new_key())])
    assert isinstance(result, SendError) and result.code == "not_found"
    assert Message.objects.filter(conversation=care).count() == 2  # the demo's one and "avant"
