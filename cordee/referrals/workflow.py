"""What referrals and tele-expertise requests share: transitions, reads, attachments, thread,
report into the record, notices. The ``expertise`` app (above this one) imports it.

- ``Transitions``: a request's state machine, ``{action: (from states, who, to state)}``; ``step``
  refuses an action by the wrong person (``PermissionDenied``: the 404) or out of order
  (``ValidationError``, said on the page).
- ``record_step``: the timeline line (``RequestEvent``) and the audit entry of a transition,
  in the caller's transaction; ``record_read``: the audit entry of a read. Both name the patient,
  the purpose and the basis (``referral`` / ``expertise``) and the reader's role.
- ``attach``: a reference to an object of another app through ``cordee.lib.attachables``
  (``check`` refuses an object of another patient with the 404 of a missing one).
- ``to_record``: the report's line in the patient's record (``documents.services.record``).
- ``notify``: after the commit, an e-mail without health data (no patient, no reason, no name of
  the sender: "a request waits for you") and ``modules.something_waits`` for push.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import Membership, User
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.care.access import actor_structures
from cordee.documents.services.record import do_add_to_record
from cordee.lib import attachables, modules
from cordee.lib.paging import MergedRows
from cordee.referrals.models import RequestAttachment, RequestEvent
from cordee.vault import services as vault
from cordee.vault.errors import VaultError

logger = logging.getLogger(__name__)

REQUESTER, RECEIVER, CARE_TEAM, SELF, CANDIDATE = "requester", "receiver", "care_team", "self", "candidate"


@dataclass(frozen=True)
class Step:
    sources: frozenset[str]
    who: str  # REQUESTER or RECEIVER
    target: str


def step(table: dict[str, Step], action: str, state: str, role: str | None) -> Step:
    """The transition ``action`` from ``state`` for a reader of ``role``, or the refusal."""
    found = table[action]
    if role != found.who and not (found.who == RECEIVER and role == CANDIDATE):
        raise PermissionDenied
    if state not in found.sources:
        raise ValidationError(_("This step is not possible at this stage of the request."))
    return found


def is_candidate(user: Any, structure_id: int | None, specialty: str) -> bool:
    """A verified professional of ``structure_id`` with ``specialty``: may take a request sent to
    that structure's service (before anyone took it)."""
    if structure_id is None or not specialty:
        return False
    professional = verified_professional(user)
    if professional is None or professional.specialty.casefold() != specialty.casefold():
        return False
    return Membership.objects.filter(user=user, structure_id=structure_id).exists()


def received_rows(model: Any, user: User, *, to: str) -> MergedRows:
    """The requests of ``model`` (referrals or tele-expertise requests; ``to`` names the field of
    their receiver) that ``user`` received: named to them, drafts left out, and the untaken ones
    sent to the service (specialty) of one of their structures, which any verified professional of
    that specialty there may take. Two disjoint parts, each walked in order by its own index
    (``lib.paging``)."""
    named = model.objects.filter(**{to: user}).exclude(state=model.State.DRAFT)
    professional = verified_professional(user)
    if professional is None or not professional.specialty:
        return MergedRows(named, related=("patient",))
    pool = model.objects.filter(
        **{f"{to}__isnull": True},
        state=model.State.SENT,
        specialty__iexact=professional.specialty,
        structure_id__in=Membership.objects.filter(user=user).values("structure_id"),
    )
    return MergedRows(named, pool, related=("patient",))


def record_read(
    user: User, obj: Any, *, basis: str, role: str, purpose: str, action: str, request: HttpRequest | None
) -> None:
    audit_trail.record(
        action,
        actor=user,
        request=request,
        target=obj,
        patient_id=obj.patient_id,
        purpose=purpose,
        category=AuditEntry.Category.ACCESS,
        details={"basis": basis, "role": role, "structure": actor_structures(user)},
    )


def record_step(
    user: User,
    obj: Any,
    *,
    basis: str,
    role: str,
    purpose: str,
    action: str,
    request: HttpRequest | None,
    kind: str = RequestEvent.Kind.TRANSITION,
    text: str | None = None,
) -> RequestEvent:
    """The timeline line and the audit entry of a transition (in the caller's transaction)."""
    now = timezone.now()
    event = RequestEvent.objects.create(
        basis=basis,
        request_id=obj.pk,
        patient_id=obj.patient_id,
        kind=kind,
        state=obj.state,
        actor=user,
        actor_display=audit_trail.actor_display(user),
        text=text or None,
        at=now,
    )
    record_read(user, obj, basis=basis, role=role, purpose=purpose, action=action, request=request)
    return event


def events_of(basis: str, obj: Any, *, thread: bool = True) -> list[RequestEvent]:
    """The request's timeline, oldest first; each line's ``label`` says its step in words."""
    labels = dict(type(obj).State.choices)
    kinds = dict(RequestEvent.Kind.choices)
    events = RequestEvent.objects.filter(basis=basis, request_id=obj.pk)
    if not thread:
        events = events.filter(kind=RequestEvent.Kind.TRANSITION)
    rows = list(events.order_by("at", "pk"))
    for event in rows:
        event.patient = obj.patient  # the key's owner, already loaded
        label = kinds[event.kind] if event.kind != RequestEvent.Kind.TRANSITION else labels.get(event.state, "")
        event.label = str(label)
    return rows


# --- attachments ------------------------------------------------------------------------------


def attach(
    user: User,
    obj: Any,
    *,
    basis: str,
    kind: str,
    raw_id: Any,
    request: HttpRequest | None,
    in_report: bool = False,
) -> RequestAttachment:
    """Attach an object the user may open, of the request's patient (else the 404)."""
    attachable = attachables.kind(kind)
    attachable.check(user, obj.patient_id, raw_id, request)
    object_id = str(raw_id).strip()
    row, _created = RequestAttachment.objects.get_or_create(
        basis=basis,
        request_id=obj.pk,
        kind=attachable.kind,
        object_id=object_id,
        defaults={"patient_id": obj.patient_id, "added_by": user, "in_report": in_report},
    )
    return row


def attachments_of(basis: str, obj: Any) -> list[dict[str, Any]]:
    rows = list(RequestAttachment.objects.filter(basis=basis, request_id=obj.pk).order_by("added_at", "pk"))
    by_kind: dict[str, list[str]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row.object_id)
    titles: dict[tuple[str, str], str] = {}
    for kind, ids in by_kind.items():
        try:
            found = attachables.kind(kind).titles(obj.patient_id, ids)
        except Exception:  # a kind no longer registered: shown without title
            found = {}
        titles.update({(kind, i): t for i, t in found.items()})
    return [{"row": row, "title": titles.get((row.kind, row.object_id), _("(no longer available)"))} for row in rows]


# --- the record, notices ----------------------------------------------------------------------


def to_record(obj: Any, *, kind: str, title: str, author: User, at: Any, visible_to_patient: bool = False) -> None:
    do_add_to_record(
        obj.patient,
        kind=kind,
        target=obj,
        occurred_at=at,
        author=author,
        title=title,
        visible_to_patient=visible_to_patient,
        link_id=obj.pk,
    )


def notify(user_ids: Iterable[int | None], *, entry: str, url_name: str) -> None:
    """After the commit: an e-mail that says only that something waits, and a push signal."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return

    def send() -> None:
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("[Cordée] A request from a colleague is waiting for you")
            link = settings.SITE_URL + reverse(url_name)
            body = _(
                "A request from a colleague (referral or tele-expertise) changed and is waiting for you in Cordée.\n\n"
                "Open Cordée to read it: %(link)s\n\n"
                "For the confidentiality of your patients, this e-mail says nothing more."
            ) % {"link": link}
        for user in User.objects.filter(pk__in=ids, is_active=True).exclude(email=""):
            try:
                send_mail(subject, body, None, [user.email])
            except Exception:  # a notice is a courtesy: never fail what is already committed
                logger.exception("referrals: a notice could not be sent")
        modules.something_waits.send_robust(sender=RequestEvent, entry=entry, user_ids=ids)

    transaction.on_commit(send)


def with_patient_names(rows: Iterable[Any]) -> list[Any]:
    """A list page's rows (referrals or tele-expertise requests, patient selected with them), each
    given ``patient_label``: the patient's name and birth date, decrypted with the data keys of
    the page's patients read in one query (``vault.preload_keys``), or a notice for a patient whose
    data were erased. The list's readers are those the request lets through, as on its page."""
    rows = list(rows)
    vault.preload_keys(row.patient for row in rows)
    for row in rows:
        try:
            row.patient_label = (
                f"{row.patient.display_name} ({date_format(row.patient.birth_date, 'SHORT_DATE_FORMAT')})"
            )
        except VaultError:
            row.patient_label = str(_("erased patient"))
    return rows
