"""A reader's own library: collections, private notes, sharing a reference into a conversation.

Each act is audited in its transaction (security category: a reference names no patient; a
note's text and a conversation's content never go into the trail). Notes are encrypted with the
reader's shelf key (``models.Shelf``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.audit import services as audit
from cordee.library.access import access_article, access_collection
from cordee.library.models import Article, Collection, CollectionItem, Note, Shelf
from cordee.messaging.access import SEND, access_conversation
from cordee.messaging.reading import conversation_list
from cordee.messaging.services.sending import SendError, SendRequest, SendResult, do_send_message

MAX_NOTE = 10_000
MAX_COLLECTIONS = 200
MAX_ITEMS = 5000


def shelf_of(user: Any) -> Shelf:
    shelf, _created = Shelf.objects.get_or_create(user=user)
    return shelf


def _name(raw: Any) -> str:
    name = " ".join(str(raw or "").replace("\x00", "").split())
    if not name:
        raise ValidationError(_("Give the collection a name."))
    if len(name) > 120:
        raise ValidationError(_("The name is too long (at most 120 characters)."))
    return name


def do_create_collection(user: Any, name: Any, *, request: HttpRequest | None = None) -> Collection:
    name = _name(name)
    if Collection.objects.filter(owner=user).count() >= MAX_COLLECTIONS:
        raise ValidationError(_("You have too many collections."))
    try:
        with transaction.atomic():
            collection = Collection.objects.create(owner=user, name=name)
            audit.record("library.collection.created", actor=user, request=request, target=collection)
    except IntegrityError:
        raise ValidationError(_("You already have a collection of that name.")) from None
    return collection


def do_delete_collection(user: Any, collection_id: Any, *, request: HttpRequest | None = None) -> None:
    collection = access_collection(user, collection_id, purpose="library.collection.delete", request=request)
    with transaction.atomic():
        audit.record("library.collection.deleted", actor=user, request=request, target=collection)
        collection.delete()


def do_save_to_collection(
    user: Any, collection_id: Any, pmid: Any, *, request: HttpRequest | None = None
) -> CollectionItem:
    collection = access_collection(user, collection_id, purpose="library.collection.add", request=request)
    article = access_article(user, pmid, purpose="library.collection.add")
    if collection.items.count() >= MAX_ITEMS:
        raise ValidationError(_("This collection is full."))
    with transaction.atomic():
        item, created = CollectionItem.objects.get_or_create(collection=collection, article=article)
        if created:
            audit.record(
                "library.collection.item_added",
                actor=user,
                request=request,
                target=collection,
                details={"pmid": article.pmid},
            )
    return item


def do_remove_from_collection(user: Any, collection_id: Any, pmid: Any, *, request: HttpRequest | None = None) -> None:
    collection = access_collection(user, collection_id, purpose="library.collection.remove", request=request)
    with transaction.atomic():
        removed, _detail = CollectionItem.objects.filter(collection=collection, article__pmid=pmid).delete()
        if removed:
            audit.record(
                "library.collection.item_removed",
                actor=user,
                request=request,
                target=collection,
                details={"pmid": int(pmid)},
            )


def note_for(user: Any, article: Article) -> Note | None:
    return Note.objects.filter(shelf__user=user, article=article).select_related("shelf").first()


def do_save_note(user: Any, pmid: Any, text: Any, *, request: HttpRequest | None = None) -> Note | None:
    """Write (or, with an empty text, delete) the reader's private note on an article."""
    article = access_article(user, pmid, purpose="library.note.save", include_withdrawn=True)
    text = str(text or "").replace("\x00", "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationError(_("The note is too long (at most %(n)d characters).") % {"n": MAX_NOTE})
    with transaction.atomic():
        shelf = shelf_of(user)
        note = Note.objects.filter(shelf=shelf, article=article).first()
        if not text:
            if note is not None:
                audit.record(
                    "library.note.deleted", actor=user, request=request, target=note, details={"pmid": article.pmid}
                )
                note.delete()
            return None
        if note is None:
            note = Note(shelf=shelf, article=article)
        note.shelf = shelf
        note.text = text
        note.updated_at = timezone.now()
        note.save()
        audit.record("library.note.saved", actor=user, request=request, target=note, details={"pmid": article.pmid})
    return note


def share_targets(user: Any) -> list[tuple[int, str]]:
    """The open conversations the reader is a member of (where a reference may go), with their labels."""
    return [
        (row.conversation.pk, row.label)
        for row in conversation_list(user)
        if row.role is not None and row.conversation.closed_at is None
    ][:50]


def reference_card(article: Article) -> dict[str, str]:
    detail = " · ".join(part for part in (article.journal_abbrev or article.journal, str(article.year or "")) if part)
    return {
        "kind": "reference",
        "title": article.title or _("[No title]"),
        "detail": detail,
        "url": reverse("library:article", args=[article.pmid]),
        "label": f"PMID {article.pmid}",
    }


def do_share_to_conversation(
    user: Any, pmid: Any, conversation_id: Any, *, note: Any = "", key: str = "", request: HttpRequest | None = None
) -> SendResult:
    """Send the article as a card into one of the reader's conversations (with an optional word)."""
    article = access_article(user, pmid, purpose="library.share")
    conversation = access_conversation(user, conversation_id, purpose=SEND, request=request, write=True)
    body = " ".join(str(note or "").split())[:2000]
    client_key = key or f"lib-{article.pmid}-{timezone.now().strftime('%Y%m%d%H%M%S%f')}"
    try:
        return do_send_message(
            SendRequest(user, conversation.pk, body, client_key[:64], card=reference_card(article), request=request)
        )
    except SendError as exc:
        raise ValidationError(exc.message) from None
