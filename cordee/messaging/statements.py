"""The UPDATE statements of the send path: conversation numbers and "e-mail notice pending" marks.

Each takes a whole batch of sends (``sending.send_messages``) in one statement, so that a batch
costs the same number of statements whatever its size (the ORM has no multi-row UPDATE with a
value per row). Only table and column names of the models are interpolated, never a value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection

from cordee.messaging.models import Conversation, Member


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


def allocate_seqs(counts: dict[int, int], *, patient_reply_ids: set[int], now: dt.datetime | None) -> dict[int, int]:
    """Take ``counts[c]`` numbers in each conversation ``c``, under the conversations' row locks.

    Returns each conversation's new ``last_seq``: its numbers are the ``counts[c]`` ones up to it.
    A conversation missing from the result was not touched: it does not exist, or it is closed to
    replies and one of ``patient_reply_ids`` (a patient's reply is then refused). ``now`` also
    moves ``last_message_at`` (new messages; None for an edit or a deletion).
    """
    ids = sorted(counts)
    table = connection.ops.quote_name(Conversation._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(ids) > 1:
            # Row locks taken in id order: two processes' batches never wait for each other in a cycle.
            cursor.execute(f"SELECT id FROM {table} WHERE id IN ({_marks(len(ids))}) ORDER BY id FOR UPDATE", ids)  # noqa: S608
        params: list[Any] = []
        if len(ids) == 1:
            sets = "last_seq = last_seq + %s"
            params.append(counts[ids[0]])
        else:
            sets = "last_seq = last_seq + CASE id" + " WHEN %s THEN %s" * len(ids) + " END"
            params += [value for pk in ids for value in (pk, counts[pk])]
        if now is not None:
            sets += ", last_message_at = %s"
            params.append(now)
        where = f"id IN ({_marks(len(ids))})"
        params += ids
        closed = sorted(patient_reply_ids & set(ids))
        if closed:
            where += f" AND NOT (replies_closed AND id IN ({_marks(len(closed))}))"
            params += closed
        cursor.execute(f"UPDATE {table} SET {sets} WHERE {where} RETURNING id, last_seq", params)  # noqa: S608
        return dict(cursor.fetchall())


def allocate_seq(conversation_id: int, *, patient_reply: bool, now: dt.datetime | None) -> int | None:
    """The conversation's next number, under its row lock; None if a patient may not reply."""
    allocated = allocate_seqs(
        {conversation_id: 1}, patient_reply_ids={conversation_id} if patient_reply else set(), now=now
    )
    return allocated.get(conversation_id)


def mark_notice_pending(senders: dict[int, set[int]], now: dt.datetime) -> dict[int, list[int]]:
    """Members of these conversations who have no e-mail notice pending yet: now pending.

    ``senders`` maps each conversation to the users who sent in it: a lone sender is not told of
    their own message; where several sent, each is told of the others'. The marked users' ids,
    per conversation (only the first message after a notice flips anything).
    """
    table = connection.ops.quote_name(Member._meta.db_table)
    ids = sorted(senders)
    where = f"email_pending_since IS NULL AND conversation_id IN ({_marks(len(ids))})"
    params: list[Any] = [now, *ids]
    alone = [(pk, next(iter(users))) for pk, users in sorted(senders.items()) if len(users) == 1]
    if alone:
        where += " AND (conversation_id, user_id) NOT IN (VALUES " + ", ".join(["(%s, %s)"] * len(alone)) + ")"
        params += [value for pair in alone for value in pair]
    marked: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET email_pending_since = %s WHERE {where} RETURNING conversation_id, user_id",  # noqa: S608
            params,
        )
        for conversation_id, user_id in cursor.fetchall():
            marked.setdefault(conversation_id, []).append(user_id)
    return marked
