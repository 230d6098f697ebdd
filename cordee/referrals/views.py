"""Pages of referrals: write, the "sent" and "received" lists, the detail with its timeline and
the steps the reader may take, the attachments, the letter (PDF). Thin: access and services.

Lists show the patient's name and birth date (decrypted with the page's data keys, read in one
query), the counterpart, urgency, state and dates, in a fixed number of queries whatever the
page (``lib.paging``); the clinical text is on the detail, whose read is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cordee.accounts.models import Structure, User
from cordee.care.access import access_patient
from cordee.lib import attachables
from cordee.lib.http import AuthedRequest
from cordee.lib.ids import parse_id
from cordee.lib.views import service_form
from cordee.referrals import access, directory, pdf, purposes, services, workflow
from cordee.referrals.models import REFERRAL, Referral, RequestAttachment, Urgency

PER_PAGE = 25


def _workforce(user: User) -> None:
    if user.kind != User.Kind.PROFESSIONAL:
        raise Http404


def _list(request: AuthedRequest, rows: Any, *, which: str) -> HttpResponse:
    _workforce(request.user)
    state = str(request.GET.get("etat") or "")
    urgency = str(request.GET.get("urgence") or "")
    overdue = request.GET.get("retard") == "1"
    rows = access.filtered(rows, state=state, urgency=urgency, overdue=overdue)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = workflow.with_patient_names(page.object_list)
    context = {
        "page": page,
        "which": which,
        "states": Referral.State.choices,
        "urgencies": Urgency.choices,
        "state": state,
        "urgency": urgency,
        "overdue": overdue,
    }
    return render(request, "referrals/list.html", context)


@login_required
@require_GET
def sent(request: AuthedRequest) -> HttpResponse:
    return _list(request, access.sent_by(request.user), which="sent")


@login_required
@require_GET
def received(request: AuthedRequest) -> HttpResponse:
    return _list(request, access.received_by(request.user), which="received")


@login_required
@require_GET
def lookup(request: AuthedRequest) -> HttpResponse:
    """The directory (htmx fragment): verified professionals by name, specialty, city, postcode or RPPS."""
    _workforce(request.user)
    found = directory.search(request.GET.get("q", ""), specialty=request.GET.get("specialite", ""))
    return render(request, "referrals/_directory.html", {"found": found, "field": request.GET.get("champ", "receiver")})


@login_required
@require_http_methods(["GET", "POST"])
def new(request: AuthedRequest, patient_id: str) -> HttpResponse:
    user = request.user
    _workforce(user)
    patient = access_patient(user, patient_id, purpose=purposes.WRITE, request=request, break_glass=False)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        try:
            referral = services.check_create_referral(
                user,
                patient.pk,
                receiver_id=request.POST.get("receiver"),
                structure_id=request.POST.get("structure"),
                specialty=request.POST.get("specialty"),
                reason=request.POST.get("reason"),
                urgency=request.POST.get("urgency"),
                summary=request.POST.get("summary"),
                treatments=request.POST.get("treatments"),
                allergies=request.POST.get("allergies"),
                questions=request.POST.get("questions"),
                attachments=[("document", raw) for raw in request.POST.getlist("document")],
                send=request.POST.get("send") == "1",
                request=request,
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        else:
            messages.success(request, _("The referral was sent.") if referral.state == "sent" else _("Draft saved."))
            return redirect("referrals:detail", referral.pk)
    receiver = directory.verified_professional(request.POST.get("receiver") or request.GET.get("destinataire"))
    context = {
        "patient": patient,
        "urgencies": Urgency.choices,
        "candidates": attachables.kind("document").candidates(user, patient.pk),
        "errors": errors,
        "values": request.POST,
        "receiver": receiver,
        "structures": Structure.objects.filter(memberships__isnull=False).distinct().order_by("name")[:200],
    }
    return render(request, "referrals/new.html", context, status=400 if errors else 200)


@login_required
@require_GET
def detail(request: AuthedRequest, referral_id: str) -> HttpResponse:
    user = request.user
    referral, role = access.access_referral(user, referral_id, purpose=purposes.VIEW, request=request)
    is_patient = role == workflow.SELF
    context = {
        "referral": referral,
        "role": role,
        "is_patient": is_patient,
        "events": workflow.events_of(REFERRAL, referral, thread=not is_patient),
        "attachments": [] if is_patient else workflow.attachments_of(REFERRAL, referral),
        "actions": _actions(referral, role),
        "urgencies": dict(Urgency.choices),
        # Files of the record for the report: only a receiver who joined the care team opens it.
        "report_candidates": (
            attachables.kind("document").candidates(user, referral.patient_id)
            if role == workflow.RECEIVER and referral.receiver_joined and referral.state in services.REPORTABLE
            else []
        ),
    }
    return render(request, "referrals/detail.html", context)


def _actions(referral: Referral, role: str) -> list[str]:
    if role == workflow.CANDIDATE:
        return ["accept"]
    return [
        action
        for action, step in services.TRANSITIONS.items()
        if step.who == role and referral.state in step.sources and action != "send"
    ] + (["send"] if role == workflow.REQUESTER and referral.state == Referral.State.DRAFT else [])


@login_required
@require_POST
@service_form(back=lambda request, kwargs: reverse("referrals:detail", args=[kwargs["referral_id"]]))
def transition(request: AuthedRequest, referral_id: str, action: str) -> HttpResponse:
    services.do_transition(
        request.user,
        referral_id,
        action,
        request=request,
        reason=request.POST.get("reason"),
        receiver_id=request.POST.get("receiver"),
        at=request.POST.get("at"),
        place=request.POST.get("place"),
        report=request.POST.get("report"),
        attachments=[("document", raw) for raw in request.POST.getlist("document")],
    )
    messages.success(request, _("Done: the referral is updated."))
    return redirect("referrals:detail", referral_id)


@login_required
@require_GET
def attachment(request: AuthedRequest, referral_id: str, attachment_id: str) -> HttpResponseBase:
    """A file the referral carries, for whoever may read the referral (not the patient here)."""
    user = request.user
    referral, role = access.access_referral(
        user, referral_id, purpose=purposes.ATTACHMENT, request=request, audit=False
    )
    pk = parse_id(attachment_id)
    row = RequestAttachment.objects.filter(basis=REFERRAL, request_id=referral.pk, pk=pk).first()
    if row is None or role == workflow.SELF:
        raise Http404
    workflow.record_read(
        user,
        referral,
        basis=REFERRAL,
        role=role,
        purpose=purposes.ATTACHMENT,
        action=purposes.DOWNLOADED,
        request=request,
    )
    return attachables.kind(row.kind).serve(referral.patient_id, row.object_id)


@login_required
@require_GET
def letter(request: AuthedRequest, referral_id: str) -> HttpResponse:
    user = request.user
    referral, role = access.access_referral(user, referral_id, purpose=purposes.LETTER, request=request)
    if role == workflow.SELF:
        raise Http404
    response = HttpResponse(pdf.letter(referral), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="lettre-adressage.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
