"""What the messaging shows in the shell (``cordee.lib.modules``): its entry with the count of
unread conversations, its home card (unread conversations, urgent first), its search section and
the words of its audit purposes in a patient's access history."""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cordee.lib import modules
from cordee.lib.prepared import Prepared
from cordee.messaging import reading
from cordee.messaging.access import DOWNLOAD, MANAGE, READ, SEND
from cordee.messaging.models import Conversation, Member, Message

logger = logging.getLogger(__name__)
HOME_LIMIT = 6
SEARCH_LIMIT = 8


def _unread_messages(user: Any) -> Any:
    """Messages of the outer ``Member``'s conversation that its user has not read (not their own)."""
    return (
        Message.objects.filter(
            conversation=OuterRef("conversation_id"), seq__gt=OuterRef("last_read_seq"), deleted_at__isnull=True
        )
        .exclude(sender=user)
        .order_by()
    )


def unread_memberships(user: Any) -> Any:
    """The user's memberships of conversations with a message they have not read."""
    return Member.objects.filter(user=user).filter(Exists(_unread_messages(user)))


def _describe(n: int) -> str:
    return ngettext("%(n)s unread conversation", "%(n)s unread conversations", n) % {"n": n}


def _waiting_members(user: Any) -> Any:
    """The user's memberships with unread messages, urgent ones first, then the latest, with
    ``unread`` (how many) and ``urgent``: the home card's first ``HOME_LIMIT``."""
    unread = _unread_messages(user)
    count = unread.values("conversation").annotate(n=Count("pk")).values("n")
    return (
        Member.objects.filter(user=user)
        .filter(Exists(unread))
        .annotate(unread=Subquery(count[:1]), urgent=Exists(unread.filter(urgent=True)))
        .order_by("-urgent", F("conversation__last_message_at").desc(nulls_last=True), "-conversation_id")[:HOME_LIMIT]
    )


# Compiled once per user and kept (cordee.lib.prepared): built anew, it was a third of the home page.
_WAITING = Prepared(_waiting_members)


def waiting_conversations(user: Any) -> list[dict[str, Any]]:
    """The user's unread conversations, urgent ones first, then the latest: a query for them, one
    for their conversations, one for the other members' names, and the keys of the names shown
    (group names, patients)."""
    members = _WAITING.instances(user, Member)
    conversations = Conversation.objects.select_related("patient").in_bulk([m.conversation_id for m in members])
    members = [m for m in members if m.conversation_id in conversations]  # one deleted meanwhile: left out
    for member in members:
        member.conversation = conversations[member.conversation_id]
    names = reading._other_names([m.conversation_id for m in members], user)  # noqa: SLF001  (same app)
    return [
        {
            "label": reading.conversation_label(m.conversation, names.get(m.conversation_id, []), user),
            "kind": m.conversation.get_kind_display(),
            "unread": m.unread,  # type: ignore[attr-defined]  # annotated
            "urgent": bool(m.urgent),  # type: ignore[attr-defined]  # annotated (SQLite answers 0/1)
            "url": reverse("messaging:conversation", args=[m.conversation_id]),
        }
        for m in members
    ]


def recipients(senders: dict[int, set[int]]) -> list[int]:
    """Who is told of new messages: the conversations' members, less a lone sender (where several
    sent, each is told of the others'), as for the e-mail notices. One query."""
    found: set[int] = set()
    rows = Member.objects.filter(conversation_id__in=sorted(senders)).values_list("conversation_id", "user_id")
    for conversation_id, user_id in rows:
        sent = senders[conversation_id]
        if not (len(sent) == 1 and user_id in sent):
            found.add(user_id)
    return sorted(found)


def announce_messages(senders: dict[int, set[int]]) -> None:
    """After the commit of new messages: something waits for their recipients (the shell pushes a
    notification without health data to those who turned notifications on). The recipients are
    looked up only if someone listens, and a listener's failure never reaches the sender."""
    if not senders:
        return
    answers = modules.something_waits.send_robust(
        sender=Message, entry="messagerie", user_ids=lambda: recipients(senders)
    )
    for _receiver, answer in answers:
        if isinstance(answer, Exception):
            logger.warning("messaging: a listener of new messages failed (%s)", type(answer).__name__)


def home_card(request: HttpRequest) -> dict[str, Any] | None:
    user = request.user
    rows = waiting_conversations(user)
    return {"rows": rows, "more": len(rows) >= HOME_LIMIT}


def search_conversations(request: HttpRequest, text: str) -> list[modules.SearchHit]:
    """Conversations the user may read whose name (group, patient, people) contains the words."""
    words = modules.folded(text).split()
    hits = []
    for row in reading.conversation_list(request.user):  # type: ignore[arg-type]  # login_required
        if all(word in modules.folded(row.label) for word in words):
            url = reverse("messaging:conversation", args=[row.conversation.pk])
            hits.append(modules.SearchHit(row.label, url, str(row.conversation.get_kind_display())))
            if len(hits) >= SEARCH_LIMIT:
                break
    return hits


def register() -> None:
    modules.register(
        modules.Entry(
            key="messagerie",
            label=_("Messaging"),
            url_name="messaging:index",
            description=_("Secure real-time conversations with colleagues and patients"),
            icon="chat",
            chosen=True,
            default_for=modules.ALL_KINDS,
            waiting=modules.Waiting(rows=unread_memberships, describe=_describe),
            home=modules.HomeCard("messaging/_home.html", home_card),
            order=10,
            push_text=_("New secure message"),
        )
    )
    modules.register_search(
        modules.Search(
            key="conversations",
            label=_("Conversations"),
            search=search_conversations,
            hint=_("a conversation's name or a person's"),
            order=20,
        )
    )
    modules.register_purposes(
        {
            READ: _("Read a conversation about you"),
            DOWNLOAD: _("Opened a file of a conversation about you"),
            SEND: _("Wrote in a conversation about you"),
            MANAGE: _("Managed a conversation about you (members, name, replies)"),
        }
    )
