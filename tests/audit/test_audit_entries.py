"""The audit table: chained entries, display copies that outlive their subject, no secrets."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.forms.models import model_to_dict

from cordee.audit import services
from cordee.audit.chain import CHAINED_FIELDS, GENESIS_HASH, link_hash
from cordee.audit.models import AuditEntry

from .conftest import attacker


def _recompute(entry: AuditEntry) -> str:
    values = model_to_dict(entry, fields=CHAINED_FIELDS)
    values["created_at"] = entry.created_at
    return link_hash(entry.prev_hash, values)


def test_entries_are_chained(personas):
    services.record("test.one", actor=personas["alice"])
    services.record("test.two", actor=personas["bob"], target=personas["paula"])
    entries = list(AuditEntry.objects.order_by("seq"))
    assert entries[0].prev_hash == GENESIS_HASH
    for previous, entry in zip(entries, entries[1:], strict=False):
        assert entry.seq == previous.seq + 1
        assert entry.prev_hash == previous.entry_hash
    for entry in entries:
        assert _recompute(entry) == entry.entry_hash


def test_an_edited_entry_no_longer_matches_its_hash(personas):
    entry = services.record("test.one", actor=personas["alice"])
    with attacker():  # on PostgreSQL the trigger refuses the UPDATE otherwise
        AuditEntry.objects.filter(pk=entry.pk).update(action="test.other")
    entry.refresh_from_db()
    assert _recompute(entry) != entry.entry_hash


def test_display_copies_outlive_the_user(personas):
    alice = personas["alice"]
    entry = services.record("test.one", actor=alice, target=alice)
    alice_id, rpps = alice.pk, alice.professional.rpps
    alice.delete()
    entry.refresh_from_db()
    assert entry.actor_id == alice_id
    assert entry.actor_display == {"name": "Alice Martin", "role": "Médecin", "rpps": rpps}


def test_entry_rolls_back_with_the_action(personas):
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.record("test.rolled_back", actor=personas["alice"])
        raise RuntimeError("the action failed")
    assert AuditEntry.objects.count() == before


def test_request_ip_and_user_agent_are_kept(rf, personas):
    request = rf.get("/", HTTP_USER_AGENT="Navigateur/1.0", REMOTE_ADDR="192.0.2.7")
    request.user = personas["alice"]
    entry = services.record("test.request", request=request)
    assert (entry.ip, entry.user_agent, entry.actor_id) == ("192.0.2.7", "Navigateur/1.0", personas["alice"].pk)
