"""Migration 0002 files the care-team messages sent before the record existed as timeline lines."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_earlier_care_team_messages_become_lines(personas):
    from cordee.documents.models import RecordItem
    from cordee.messaging.models import Message

    message = Message.objects.get(conversation__kind="care_team")  # the demo's, written without the signal
    RecordItem.objects.filter(kind="message").delete()
    try:
        _migrate([("documents", "0001_patient_record")])
        _migrate([("documents", "0002_care_team_messages_in_the_timeline")])
        item = RecordItem.objects.get(kind="message", target_id=str(message.pk))
        assert (item.patient_id, item.author_id, item.link_id, item.title) == (
            message.conversation.patient_id,
            message.sender_id,
            str(message.conversation_id),
            None,
        )
        assert item.author_display == {"name": "Alice Martin", "role": "professional", "rpps": "10000000009"}
        assert RecordItem.objects.filter(kind="message").count() == 1
    finally:
        # Back to every app's latest migration: going back to documents 0001 also unapplied the
        # apps that depend on documents (prescriptions, imaging, referrals…), and re-applying
        # documents alone left their tables missing for every later test of the run.
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
