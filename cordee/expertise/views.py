"""Pages of tele-expertise: ask (with the patient's consent), the "sent" and "received" lists, the
detail (request, thread, answer, steps), attachments; and the patient's space listing both her
referrals and her tele-expertise requests (state, who, when: never the text nor the thread).
Thin: access and services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cordee.accounts.models import Membership, User
from cordee.care.access import access_patient
from cordee.expertise import access, purposes, services
from cordee.expertise.models import DEFAULT_DEADLINE_DAYS, Expertise
from cordee.lib import attachables
from cordee.lib.http import AuthedRequest
from cordee.lib.ids import parse_id
from cordee.lib.views import service_form
from cordee.referrals import access as referral_access
from cordee.referrals import directory, workflow
from cordee.referrals.models import EXPERTISE, RequestAttachment

PER_PAGE = 25


def _professional(user: User) -> None:
    if user.kind != User.Kind.PROFESSIONAL:
        raise Http404


def _list(request: AuthedRequest, rows: Any, *, which: str) -> HttpResponse:
    _professional(request.user)
    state = str(request.GET.get("etat") or "")
    page = Paginator(access.filtered(rows, state=state), PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = workflow.with_patient_names(page.object_list)
    context = {"page": page, "which": which, "states": Expertise.State.choices, "state": state}
    return render(request, "expertise/list.html", context)


@login_required
@require_GET
def sent(request: AuthedRequest) -> HttpResponse:
    return _list(request, access.sent_by(request.user), which="sent")


@login_required
@require_GET
def received(request: AuthedRequest) -> HttpResponse:
    return _list(request, access.received_by(request.user), which="received")


@login_required
@require_http_methods(["GET", "POST"])
def new(request: AuthedRequest, patient_id: str) -> HttpResponse:
    user = request.user
    _professional(user)
    patient = access_patient(user, patient_id, purpose=purposes.WRITE, request=request, break_glass=False)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        try:
            expertise = services.check_create_expertise(
                user,
                patient.pk,
                question=request.POST.get("question"),
                expert_id=request.POST.get("expert"),
                structure_id=request.POST.get("structure"),
                specialty=request.POST.get("specialty"),
                deadline_days=request.POST.get("deadline_days"),
                consent_how=request.POST.get("consent_how"),
                consent_at=request.POST.get("consent_at"),
                attachments=[("document", raw) for raw in request.POST.getlist("document")],
                send=request.POST.get("send") == "1",
                request=request,
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        else:
            messages.success(request, _("The request was sent.") if expertise.state == "sent" else _("Draft saved."))
            return redirect("expertise:detail", expertise.pk)
    structures = Membership.objects.filter(user=user).select_related("structure").order_by("structure__name")
    context = {
        "patient": patient,
        "consents": Expertise.Consent.choices,
        "candidates": attachables.kind("document").candidates(user, patient.pk),
        "errors": errors,
        "values": request.POST,
        "expert": directory.verified_professional(request.POST.get("expert") or request.GET.get("expert")),
        "structures": [m.structure for m in structures],
        "default_days": DEFAULT_DEADLINE_DAYS,
        "today": timezone.localdate(),
    }
    return render(request, "expertise/new.html", context, status=400 if errors else 200)


def _actions(expertise: Expertise, role: str) -> list[str]:
    if role == workflow.CANDIDATE:
        return ["accept"]
    return [a for a, s in services.TRANSITIONS.items() if s.who == role and expertise.state in s.sources]


@login_required
@require_GET
def detail(request: AuthedRequest, expertise_id: str) -> HttpResponse:
    user = request.user
    expertise, role = access.access_expertise(user, expertise_id, purpose=purposes.VIEW, request=request)
    is_patient = role == workflow.SELF
    context = {
        "expertise": expertise,
        "role": role,
        "is_patient": is_patient,
        "events": workflow.events_of(EXPERTISE, expertise, thread=not is_patient),
        "attachments": [] if is_patient else workflow.attachments_of(EXPERTISE, expertise),
        "actions": _actions(expertise, role),
        "consents": dict(Expertise.Consent.choices),
    }
    return render(request, "expertise/detail.html", context)


@login_required
@require_POST
@service_form(back=lambda request, kwargs: reverse("expertise:detail", args=[kwargs["expertise_id"]]))
def transition(request: AuthedRequest, expertise_id: str, action: str) -> HttpResponse:
    services.do_transition(
        request.user,
        expertise_id,
        action,
        request=request,
        text=request.POST.get("text") or request.POST.get("answer") or request.POST.get("reason"),
        course_of_action=request.POST.get("course_of_action"),
        consultation_needed=request.POST.get("consultation_needed"),
        consent_how=request.POST.get("consent_how"),
        consent_at=request.POST.get("consent_at"),
    )
    messages.success(request, _("Done: the request is updated."))
    return redirect("expertise:detail", expertise_id)


@login_required
@require_GET
def attachment(request: AuthedRequest, expertise_id: str, attachment_id: str) -> HttpResponseBase:
    user = request.user
    expertise, role = access.access_expertise(
        user, expertise_id, purpose=purposes.ATTACHMENT, request=request, audit=False
    )
    row = RequestAttachment.objects.filter(basis=EXPERTISE, request_id=expertise.pk, pk=parse_id(attachment_id)).first()
    if row is None or role == workflow.SELF:
        raise Http404
    workflow.record_read(
        user, expertise, basis=EXPERTISE, role=role, purpose=purposes.ATTACHMENT, action=purposes.READ, request=request
    )
    return attachables.kind(row.kind).serve(expertise.patient_id, row.object_id)


@login_required
@require_GET
def mine(request: AuthedRequest) -> HttpResponse:
    """The patient's space: her referrals and tele-expertise requests (state, who, when)."""
    patient = getattr(request.user, "patient", None) if request.user.kind == User.Kind.PATIENT else None
    if patient is None:
        raise Http404
    context = {
        "referrals": list(referral_access.of_patient(patient.pk).order_by("-updated_at", "-pk")[:100]),
        "requests": list(access.of_patient(patient.pk).order_by("-updated_at", "-pk")[:100]),
    }
    return render(request, "expertise/mine.html", context)
