"""The breach register: the officers' list, an incident's page, its declaration, facts and exports.

Every page is for the security officers of the incident's structure (and the platform operator);
anyone else gets the 404 of a missing page. Every write and every export asks for a recent sign-in
(sudo mode) and is audited; so is every page shown.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cordee.accounts.models import Structure, User
from cordee.audit import services as audit
from cordee.audit.rotation import RotationRefused
from cordee.lib.http import AuthedRequest
from cordee.security import drafts, register
from cordee.security.access import (
    access_alert,
    access_incident,
    access_notice,
    incidents_for,
    is_operator,
    keeps_a_register,
    notices_of,
    officer_memberships,
)
from cordee.security.clock import clock
from cordee.security.forms import FACTS, ContainForm, DeclareForm, IncidentForm, ScopeForm
from cordee.security.models import Incident
from cordee.security.services import containment, detections, notices, scoping
from cordee.security.services import incidents as services

VIEW = "security.incident_view"
EDIT = "security.incident_edit"
SCOPE = "security.incident_scope"


def _structures(request: AuthedRequest) -> Any:
    if is_operator(request.user):
        return Structure.objects.order_by("name")
    return Structure.objects.filter(pk__in=officer_memberships(request.user).values("structure_id")).order_by("name")


def _register_only(request: AuthedRequest) -> None:
    if not keeps_a_register(request.user):
        raise Http404


@login_required
@require_GET
def incidents(request: AuthedRequest) -> HttpResponse:
    _register_only(request)
    now = timezone.now()
    rows = [(incident, clock(incident, now)) for incident in incidents_for(request.user)]
    audit.record("security.register_viewed", request=request, details={"incidents": [i.pk for i, _c in rows]})
    return render(request, "security/incidents.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required
def declare(request: AuthedRequest) -> HttpResponse:
    _register_only(request)
    # Declared from an alert (``?alerte=<id>``): prefilled from it, and the alert then points to it.
    raw_alert = request.POST.get("alerte") or request.GET.get("alerte")
    alert = None
    if raw_alert:
        alert = access_alert(request.user, raw_alert, purpose="security.alert_incident", request=request)
    form = DeclareForm(request.POST or None, structures=_structures(request))
    if request.method == "POST" and form.is_valid():
        facts = {name: form.cleaned_data[name] for name in FACTS}
        incident = services.do_declare_incident(form.cleaned_data["structure"], facts, by=request.user, request=request)
        if alert is not None:
            detections.do_link_incident(alert, incident, by=request.user, request=request)
        messages.success(request, _("Incident recorded in the register."))
        return redirect("security:incident", incident.pk)
    if request.method == "GET" and not form.is_bound:
        form.initial = {"aware_at": timezone.localtime().replace(second=0, microsecond=0)}
        structures = list(_structures(request)[:2])
        if len(structures) == 1:  # an officer of one structure: nothing to choose
            form.initial["structure"] = structures[0].pk
        if alert is not None:
            form.initial.update(detections.incident_prefill(alert))
    status = 400 if form.is_bound else 200
    return render(request, "security/declare.html", {"form": form, "alert": alert}, status=status)


def _page(
    request: AuthedRequest,
    incident: Incident,
    *,
    form: IncidentForm | None = None,
    scope_form: ScopeForm | None = None,
    contain_form: ContainForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    audit.record("security.incident_viewed", request=request, target=incident, purpose=VIEW)
    context = {
        "incident": incident,
        "clock": clock(incident, now),
        "form": form or IncidentForm(instance=incident),
    }
    context.update(_more_context(request, incident, now, scope_form))
    initial = {"accounts": (incident.scope or {}).get("accounts", [])}
    context["contain_form"] = contain_form or ContainForm(
        members=_members(incident), initial=initial, prefix=ContainForm.PREFIX
    )
    return render(request, "security/incident.html", context, status=status)


def _members(incident: Incident) -> Any:
    return User.objects.filter(memberships__structure=incident.structure).order_by("last_name", "pk").distinct()


def _more_context(
    request: AuthedRequest, incident: Incident, now: Any, scope_form: ScopeForm | None = None
) -> dict[str, Any]:
    scope = incident.scope or {}
    labels = scoping.category_labels()
    initial: dict[str, Any] = {"end": timezone.localtime(now).replace(second=0, microsecond=0)}
    if scope:
        initial = {
            "accounts": scope.get("accounts", []),
            "database_dump": scope.get("dump"),
            "key_exposed": scope.get("key_exposed"),
        }
    return {
        "scope_form": scope_form or ScopeForm(members=_members(incident), initial=initial),
        "scope": scope,
        "scope_reasoning": scoping.reasoning(scope) if scope else [],
        "scope_window": [dt.datetime.fromisoformat(scope[k]) for k in ("start", "end")] if scope else [],
        "notices": list(incident.notices.order_by("patient_id")),
        "cnil_fields": drafts.cnil_fields(incident) if scope else [],
        "ars_fields": drafts.ars_fields(incident) if scope else [],
        "scope_categories": [
            (labels[c], scope["by_category"][c]) for c in scoping.CATEGORIES if c in scope.get("by_category", {})
        ],
    }


@login_required
@require_GET
def incident(request: AuthedRequest, incident_id: str) -> HttpResponse:
    found = access_incident(request.user, incident_id, purpose=VIEW, request=request)
    return _page(request, found)


@login_required
@require_POST
@reauthentication_required
def update(request: AuthedRequest, incident_id: str) -> HttpResponse:
    found = access_incident(request.user, incident_id, purpose=EDIT, request=request)
    form = IncidentForm(request.POST, instance=Incident.objects.filter(pk=found.pk).first())
    if not form.is_valid():
        return _page(request, found, form=form, status=400)
    services.do_update_incident(
        found, {name: form.cleaned_data[name] for name in FACTS}, by=request.user, request=request
    )
    messages.success(request, _("Incident updated."))
    return redirect("security:incident", found.pk)


@login_required
@require_GET
@reauthentication_required
def register_export(request: AuthedRequest, fmt: str) -> HttpResponse:
    _register_only(request)
    now = timezone.now()
    rows = list(incidents_for(request.user))
    audit.record(
        "security.register_exported", request=request, details={"format": fmt, "incidents": [i.pk for i in rows]}
    )
    if fmt == "csv":
        response = HttpResponse(register.register_csv(rows, now), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(register.register_pdf(rows, now), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="registre-violations.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
@reauthentication_required
def scope(request: AuthedRequest, incident_id: str) -> HttpResponse:
    found = access_incident(request.user, incident_id, purpose=SCOPE, request=request)
    form = ScopeForm(request.POST, members=_members(found))
    if not form.is_valid():
        return _page(request, found, scope_form=form, status=400)
    data = form.cleaned_data
    try:
        scoping.do_scope_incident(
            found,
            list(data["accounts"]),
            data["start"],
            data["end"],
            dump=data["database_dump"],
            key_exposed=data["key_exposed"],
            by=request.user,
            request=request,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Scope computed from the audit trail."))
    return redirect("security:incident", found.pk)


@login_required
@require_POST
@reauthentication_required
def contain(request: AuthedRequest, incident_id: str) -> HttpResponse:
    found = access_incident(request.user, incident_id, purpose=EDIT, request=request)
    form = ContainForm(request.POST, members=_members(found), prefix=ContainForm.PREFIX)
    if not form.is_valid():
        return _page(request, found, contain_form=form, status=400)
    try:
        counts = containment.do_contain_accounts(
            found, list(form.cleaned_data["accounts"]), form.cleaned_data["actions"], by=request.user, request=request
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Containment done: %(accounts)s account(s), %(sessions)s session(s) ended.") % counts,
        )
    return redirect("security:incident", found.pk)


@login_required
@require_POST
@reauthentication_required
def rotate_kek(request: AuthedRequest, incident_id: str) -> HttpResponse:
    found = access_incident(request.user, incident_id, purpose=EDIT, request=request)
    containment.do_rotate_kek(found, by=request.user, request=request)
    messages.success(request, _("The vault's key encryption key was rotated."))
    return redirect("security:incident", found.pk)


@login_required
@require_POST
@reauthentication_required
def rotate_audit_key(request: AuthedRequest, incident_id: str) -> HttpResponse:
    found = access_incident(request.user, incident_id, purpose=EDIT, request=request)
    try:
        done = containment.do_rotate_audit_key(found, by=request.user, request=request)
    except RotationRefused as exc:
        # (The reason names key files and key ids: no personal data.)
        messages.error(request, _("The audit signing key was not rotated: %(why)s") % {"why": exc})
        return redirect("security:incident", found.pk)
    messages.success(
        request,
        _(
            "The audit signing key was rotated; its public key changed: give the new one to whoever keeps "
            "the exported checkpoints, and make a new key escrow."
        ),
    )
    if done.chain_problem:
        messages.warning(
            request,
            _(
                "The audit trail does not verify, so no checkpoint was signed around the rotation: "
                "run manage.py audit verify."
            ),
        )
    return redirect("security:incident", found.pk)


NOTICE_VIEW = "security.notice_view"  # an officer (or the patient) opens a patient's notice


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
@reauthentication_required
def cnil_draft(request: AuthedRequest, incident_id: str) -> HttpResponse:
    found = access_incident(request.user, incident_id, purpose=VIEW, request=request)
    audit.record("security.cnil_draft_downloaded", request=request, target=found, purpose=VIEW)
    return _pdf(drafts.cnil_pdf(found), f"notification-cnil-{found.pk}.pdf")


@login_required
@require_GET
@reauthentication_required
def ars_draft(request: AuthedRequest, incident_id: str) -> HttpResponse:
    found = access_incident(request.user, incident_id, purpose=VIEW, request=request)
    audit.record("security.ars_draft_downloaded", request=request, target=found, purpose=VIEW)
    return _pdf(drafts.ars_pdf(found), f"signalement-ars-{found.pk}.pdf")


@login_required
@require_GET
@reauthentication_required
def notice_pdf(request: AuthedRequest, incident_id: str, notice_id: str) -> HttpResponse:
    """An officer's copy of one patient's letter (to post to a patient without an account)."""
    found = access_incident(request.user, incident_id, purpose=NOTICE_VIEW, request=request)
    notice = access_notice(request.user, notice_id, purpose=NOTICE_VIEW, request=request)
    if notice.incident_id != found.pk:
        raise Http404
    return _pdf(drafts.letter_pdf(notice), f"information-{notice.pk}.pdf")


@login_required
@require_POST
@reauthentication_required
def approve(request: AuthedRequest, incident_id: str) -> HttpResponse:
    found = access_incident(request.user, incident_id, purpose=EDIT, request=request)
    try:
        approved = notices.do_approve_drafts(found, by=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if approved.patients_decision == Incident.Decision.NOTIFY:
            messages.success(request, _("Drafts approved: the patients' notices are sent."))
        else:
            messages.success(request, _("Drafts approved. No notice is sent to the patients, as decided."))
    return redirect("security:incident", found.pk)


# --- the patient's side ------------------------------------------------------------------------


@login_required
@require_GET
def my_notices(request: AuthedRequest) -> HttpResponse:
    mine = list(notices_of(request.user).select_related("incident", "patient"))
    if not mine:
        raise Http404
    for notice in mine:
        access_notice(request.user, notice.pk, purpose=NOTICE_VIEW, request=request)
    letters = [(notice, drafts.letter(notice)) for notice in mine]
    return render(request, "security/my_notices.html", {"letters": letters})


@login_required
@require_GET
def my_notice_pdf(request: AuthedRequest, notice_id: str) -> HttpResponse:
    notice = access_notice(request.user, notice_id, purpose=NOTICE_VIEW, request=request)
    if notice.patient.user_id != request.user.pk:
        raise Http404  # an officer uses the incident's own link (behind a recent sign-in)
    return _pdf(drafts.letter_pdf(notice), f"information-{notice.pk}.pdf")
