"""Demo conversations between the personas: Alice↔Bob, the care team of Paula, Alice↔Paula.

Written directly, like the rest of the demo data (no audit entries, no events); idempotent: a
conversation that exists already is left as it is. Bodies are encrypted like any other.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cordee.accounts.models import User
from cordee.care.access import team_access_user_ids
from cordee.messaging.models import Conversation, Member, Message

_THREADS: tuple[tuple[str, list[str], list[tuple[str, str]]], ...] = (
    (
        "direct",
        ["alice", "bob"],
        [
            ("alice", "Bonjour Bob, peux-tu passer voir Mme Bernard demain matin pour son pansement ?"),
            ("bob", "Oui, je passe vers 9 h."),
        ],
    ),
    (
        "care_team",
        [],
        [("alice", "Point de coordination : la cicatrisation progresse, on espace les soins à un jour sur deux.")],
    ),
    (
        "patient",
        ["alice", "paula"],
        [("alice", "Bonjour Madame Bernard, comment allez-vous depuis notre rendez-vous ?")],
    ),
)


def _conversation(kind: str, users: dict[str, User], keys: list[str]) -> tuple[Conversation, list[int]] | None:
    patient = users["paula"].patient
    alice = users["alice"]
    if kind == "direct":
        low, high = sorted(users[k].pk for k in keys)
        pair_key, member_ids = f"d:{low}:{high}", [users[k].pk for k in keys]
    elif kind == "patient":
        pair_key, member_ids = f"p:{alice.pk}:{patient.pk}", [alice.pk, users["paula"].pk]
    else:
        pair_key, member_ids = f"c:{patient.pk}", sorted(team_access_user_ids(patient.pk))
    if Conversation.objects.filter(pair_key=pair_key).exists():
        return None
    fields = {"patient": patient} if kind != "direct" else {}
    conversation = Conversation.objects.create(kind=kind, pair_key=pair_key, created_by=alice, **fields)
    return conversation, member_ids


def seed_conversations(users: dict[str, User]) -> None:
    start = timezone.now() - dt.timedelta(hours=2)
    for kind, keys, lines in _THREADS:
        made = _conversation(kind, users, keys)
        if made is None:
            continue
        conversation, member_ids = made
        roles = {users["alice"].pk: Member.Role.ADMIN} if kind == "patient" else {}
        Member.objects.bulk_create(
            Member(conversation=conversation, user_id=uid, role=roles.get(uid, Member.Role.MEMBER))
            for uid in member_ids
        )
        for seq, (author, text) in enumerate(lines, start=1):
            at = start + dt.timedelta(minutes=seq)
            Message.objects.create(
                conversation=conversation,
                seq=seq,
                rev_seq=seq,
                sender=users[author],
                body=text,
                client_key=f"demo-{kind}-{seq:04d}",
                created_at=at,
            )
            Member.objects.filter(conversation=conversation, user=users[author], last_read_seq__lt=seq).update(
                last_read_seq=seq
            )
        conversation.last_seq = len(lines)
        conversation.last_message_at = start + dt.timedelta(minutes=len(lines))
        conversation.save(update_fields=["last_seq", "last_message_at"])
