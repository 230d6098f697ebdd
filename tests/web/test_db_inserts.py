"""``cordee.db.inserts``: INSERTs built once give the rows ``bulk_create`` would have written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from cordee.audit.models import AuditEntry
from cordee.db.inserts import inserts
from cordee.messaging import services as messaging
from cordee.messaging.keys import key_owner
from cordee.messaging.models import Message


def _message(conversation, sender, seq: int, **extra) -> Message:  # type: ignore[no-untyped-def]
    values = {
        "conversation": key_owner(conversation),
        "seq": seq,
        "rev_seq": seq,
        "sender": sender,
        "body": f"Corps n° {seq}",
        "client_key": f"inserts-{seq:04d}",
        "created_at": timezone.now(),
    }
    return Message(**{**values, **extra})


def test_instances_get_their_ids_in_order_and_read_back_as_written(alice, bob):
    conversation = messaging.do_start_direct(alice, bob.pk)
    base = conversation.last_seq
    messages = [
        _message(conversation, alice, base + n, urgent=n == 2, mentions=[bob.pk] if n == 3 else []) for n in (1, 2, 3)
    ]
    messages.append(_message(conversation, None, base + 4, body=None, mentions=[]))

    inserts(Message).create(messages)

    assert all(not m._state.adding and m._state.db == "default" for m in messages)
    stored = {m.pk: m for m in Message.objects.filter(pk__in=[m.pk for m in messages])}
    assert len(stored) == 4
    for written in messages:
        read = stored[written.pk]  # the id given back is this row's, not another's
        assert (read.seq, read.client_key, read.sender_id) == (written.seq, written.client_key, written.sender_id)
        assert read.body == written.body  # encrypted on the way in (pre_save), decrypted on the way out
        assert read.urgent is written.urgent and read.mentions == written.mentions
        assert abs(read.created_at - written.created_at) < dt.timedelta(milliseconds=1)
    assert stored[messages[3].pk].body is None and stored[messages[3].pk].sender_id is None


def test_a_body_is_stored_as_ciphertext_never_as_text(alice, bob):
    from django.db import connection

    conversation = messaging.do_start_direct(alice, bob.pk)
    message = _message(conversation, alice, conversation.last_seq + 1, body="Douleur thoracique")
    inserts(Message).create([message])
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM messaging_message WHERE id = %s", [message.pk])
        (raw,) = cursor.fetchone()
    assert b"Douleur" not in bytes(raw)


@pytest.mark.django_db
def test_values_that_are_not_plain_go_through_the_field():
    """A lazy translation in a text field and a dict in a JSON field are converted as Django would."""
    statements = inserts(AuditEntry)
    values = {field.name: None for field in statements.fields}
    values.update(
        seq=10**9,
        created_at=timezone.now(),
        category=AuditEntry.Category.SECURITY,
        action=gettext_lazy("Messages"),
        outcome="success",
        actor_display={"name": "Alice"},
        target_type="",
        target_id="",
        target_display="",
        purpose="",
        user_agent="",
        details={"n": 1},
        prev_hash="0" * 64,
        content_hash="1" * 64,
        entry_hash="2" * 64,
        mac="3" * 64,
    )
    params = statements.params(values)
    by_name = dict(zip([f.name for f in statements.fields], params, strict=True))
    assert by_name["action"] == "Messages" and type(by_name["action"]) is str
    assert by_name["seq"] == 10**9 and by_name["purged_at"] is None
    more = [
        statements.params({**values, "seq": 10**9 + n, "entry_hash": f"{n + 4}" * 64, "details": {"n": n + 1}})
        for n in (1, 2)
    ]
    statements.many([params, *more])
    entries = list(AuditEntry.objects.filter(seq__gte=10**9).order_by("seq"))
    assert [(e.seq, e.details) for e in entries] == [(10**9 + n, {"n": n + 1}) for n in range(3)]
    assert entries[0].action == "Messages" and entries[0].actor_display == {"name": "Alice"}
    statements.many([])  # nothing to insert: no statement


def test_profession_labels_kept_per_language_follow_the_active_language():
    """Every audit entry names the actor's profession: its label is kept per language, never one for all."""
    from django.utils import translation

    from cordee.accounts.professions import profession_label

    for _ in range(2):  # the second time from what was kept
        with translation.override("fr"):
            assert profession_label("10") == "Médecin"
        with translation.override("en"):
            assert profession_label("10") == "Physician"
    assert profession_label("zz") == "zz"  # an unknown code is itself, and not kept
