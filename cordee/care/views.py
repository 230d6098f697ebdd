"""Pages of the care relationship. Patients are reached only through ``access_patient``."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import Patient, User
from cordee.care import access, history, invitations, purposes, services
from cordee.care.forms import BreakGlassForm
from cordee.care.pdf import access_history_pdf
from cordee.lib import modules
from cordee.lib.http import AuthedRequest
from cordee.lib.views import service_form


def _staff_or_professional(user: User) -> None:
    if user.kind not in (User.Kind.PROFESSIONAL, User.Kind.STAFF):
        raise Http404


@login_required
@require_GET
def patient_list(request: AuthedRequest) -> HttpResponse:
    _staff_or_professional(request.user)
    page = access.list_patients(request.user, request.GET.get("page"), request=request)
    can_break_glass = verified_professional(request.user) is not None
    return render(request, "care/patient_list.html", {"page": page, "can_break_glass": can_break_glass})


@login_required
@require_GET
def patient_page(request: AuthedRequest, patient_id: str) -> HttpResponse:
    user = request.user
    patient, basis = access.access_patient_with_basis(user, patient_id, purpose=purposes.PATIENT_VIEW, request=request)
    can_manage = basis == "care_team" and user.kind == User.Kind.PROFESSIONAL
    team = list(access.care_team_of(patient))
    context: dict[str, object] = {
        "patient": patient,
        "basis": basis,
        "grant": access.active_grant(user, patient.pk) if basis == "break_glass" else None,
        "team": team,
        "active_team": [stay for stay in team if stay.is_active and stay.member is not None],
        "oppositions": list(access.oppositions_of(patient)),
        "can_manage": can_manage,
        "can_oppose": basis == "self" or can_manage,
        "candidates": list(services.team_candidates(user, patient)) if can_manage else [],
        "patient_links": [(link, reverse(link.url_name, args=[patient.pk])) for link in modules.patient_links(user)],
    }
    if can_manage and patient.user_id is None:
        context["invite_structures"] = list(invitations.inviting_structures(user))
        context["pending_invitations"] = invitations.pending_invitations(patient)
    return render(request, "care/patient.html", context)


@login_required
@require_POST
@service_form(back="care:patient")
def invite_patient(request: AuthedRequest, patient_id: str) -> HttpResponse:
    """A professional of the care team invites the patient to Cordée (an invitation bound to them)."""
    patient = _changed_patient(request, patient_id, purposes.PATIENT_VIEW, team_only=True)
    email = request.POST.get("email", "")
    services.check_invite_patient(request.user, patient, email, request.POST.get("structure", ""), request=request)
    messages.success(request, _("Invitation sent to %(email)s.") % {"email": email.strip().lower()})
    return redirect("care:patient", patient.pk)


def _changed_patient(request: AuthedRequest, patient_id: str, purpose: str, *, team_only: bool = False) -> Patient:
    # The do_* service writes the audit entry of the change: no separate read entry.
    patient = access.access_patient(request.user, patient_id, purpose=purpose, request=request, audit=False)
    if team_only and not services.is_team_professional(request.user, patient.pk):
        raise Http404  # readers who may not change the team (staff, the patient)
    return patient


@login_required
@require_POST
@reauthentication_required
@service_form(back="care:patient")
def add_member(request: AuthedRequest, patient_id: str) -> HttpResponse:
    patient = _changed_patient(request, patient_id, purposes.CARE_TEAM_CHANGE, team_only=True)
    rpps = request.POST.get("rpps", "").strip()
    if rpps:
        member = services.professional_by_rpps(rpps)
    else:
        chosen = request.POST.get("member", "")
        member = services.team_candidates(request.user, patient).filter(pk=chosen).first() if chosen.isdigit() else None
    if member is None:
        raise ValidationError(_("Choose a colleague, or give the RPPS number of a professional registered in Cordée."))
    services.do_add_to_care_team(patient, member, by=request.user, request=request)
    messages.success(request, _("%(name)s joined the care team.") % {"name": member.display_name})
    return redirect("care:patient", patient.pk)


@login_required
@require_POST
@reauthentication_required
@service_form(back=lambda request, kwargs: reverse("care:patient", args=[kwargs["patient_id"]]))
def remove_member(request: AuthedRequest, patient_id: str, stay_id: str) -> HttpResponse:
    patient = _changed_patient(request, patient_id, purposes.CARE_TEAM_CHANGE, team_only=True)
    stay = access.access_team_stay(request.user, patient, stay_id, purpose=purposes.CARE_TEAM_CHANGE, request=request)
    services.do_remove_from_care_team(stay, by=request.user, request=request)
    messages.success(request, _("%(name)s left the care team.") % {"name": stay.member_display.get("name", "")})
    if access.team_membership(request.user, patient.pk) is None:
        return redirect("care:patients")  # who removed themselves no longer reaches the page
    return redirect("care:patient", patient.pk)


@login_required
@require_POST
@reauthentication_required
@service_form(back="care:patient")
def record_opposition(request: AuthedRequest, patient_id: str) -> HttpResponse:
    patient = _changed_patient(request, patient_id, purposes.OPPOSITION)
    scope = request.POST.get("scope", "")
    member = None if scope == "team" else access.team_member_user(patient, scope)
    if scope != "team" and member is None:
        raise ValidationError(_("Choose the whole care team or one of its members."))
    services.do_record_opposition(
        patient,
        by=request.user,
        member=member,
        request=request,
        close_patient_thread=request.POST.get("close_thread") == "1",
    )
    messages.success(request, _("The opposition is recorded."))
    return _after_opposition(request, patient)


@login_required
@require_POST
@reauthentication_required
@service_form(back=lambda request, kwargs: reverse("care:patient", args=[kwargs["patient_id"]]))
def withdraw_opposition(request: AuthedRequest, patient_id: str, opposition_id: str) -> HttpResponse:
    patient = _changed_patient(request, patient_id, purposes.OPPOSITION)
    opposition = access.access_opposition(
        request.user, patient, opposition_id, purpose=purposes.OPPOSITION, request=request
    )
    services.do_withdraw_opposition(opposition, by=request.user, request=request)
    messages.success(request, _("The opposition is withdrawn."))
    return _after_opposition(request, patient)


def _after_opposition(request: AuthedRequest, patient: Patient) -> HttpResponse:
    if patient.user_id == request.user.pk or access.team_membership(request.user, patient.pk) is not None:
        return redirect("care:patient", patient.pk)
    messages.info(request, _("As the patient asked, you no longer reach this patient's data."))
    return redirect("care:patients")


def _add_errors(form: BreakGlassForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)
def break_glass(request: AuthedRequest) -> HttpResponse:
    if verified_professional(request.user) is None:
        raise Http404  # staff, patients and unverified professionals never break the glass
    form = BreakGlassForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            patient, grant = services.check_break_glass(
                request.user, form.cleaned_data["identifier"], form.cleaned_data["reason"], request=request
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            if grant is None:
                messages.info(request, _("This patient is in your care team: no emergency access is needed."))
            else:
                until = timezone.localtime(grant.expires_at)
                messages.warning(request, _("Emergency access open until %(time)s.") % {"time": f"{until:%H:%M}"})
            return redirect("care:patient", patient.pk)
    context = {"form": form, "minutes": settings.BREAK_GLASS_MINUTES}
    return render(request, "care/break_glass.html", context, status=400 if form.is_bound else 200)


def _history(request: AuthedRequest, patient_id: str | int) -> HttpResponse:
    patient, basis = access.access_patient_with_basis(
        request.user, patient_id, purpose=purposes.ACCESS_HISTORY, request=request, break_glass=False
    )
    filters = history.parse_filters(request.GET)
    page, rows = history.history_page(patient, request.GET.get("page"), filters)
    context = {
        "patient": patient,
        "is_self": basis == "self",
        "page": page,
        "rows": rows,
        "filters": filters,
        "people": history.people(patient),
    }
    return render(request, "care/history.html", context)


def _history_pdf(request: AuthedRequest, patient_id: str | int) -> HttpResponse:
    patient = access.access_patient(
        request.user,
        patient_id,
        purpose=purposes.ACCESS_HISTORY_EXPORT,
        action=purposes.EXPORT,
        request=request,
        break_glass=False,
    )
    filters = history.parse_filters(request.GET)
    rows = list(history.all_rows(patient, filters))
    pdf = access_history_pdf(patient, rows, generated_at=timezone.now(), filters=filters)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="cordee-historique-acces.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def patient_history(request: AuthedRequest, patient_id: str) -> HttpResponse:
    return _history(request, patient_id)


@login_required
@require_GET
@reauthentication_required
def patient_history_pdf(request: AuthedRequest, patient_id: str) -> HttpResponse:
    return _history_pdf(request, patient_id)


def _own_patient_id(user: User) -> int:
    patient = getattr(user, "patient", None) if user.kind == User.Kind.PATIENT else None
    if patient is None:
        raise Http404
    return patient.pk


@login_required
@require_GET
def my_history(request: AuthedRequest) -> HttpResponse:
    return _history(request, _own_patient_id(request.user))


@login_required
@require_GET
@reauthentication_required
def my_history_pdf(request: AuthedRequest) -> HttpResponse:
    return _history_pdf(request, _own_patient_id(request.user))
