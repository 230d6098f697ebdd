"""The structure administrator's Annuaire Santé page: upload an extraction, verify members."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cordee.accounts.access import access_structure
from cordee.accounts.annuaire import services
from cordee.accounts.annuaire.access import access_structure_professional
from cordee.accounts.annuaire.forms import RejectForm, UploadForm, VerifyForm
from cordee.accounts.annuaire.models import AnnuaireEntry
from cordee.accounts.annuaire.names import same_family_name
from cordee.accounts.models import Professional, Structure
from cordee.lib.http import AuthedRequest
from cordee.lib.views import service_form

_SHOWN_REJECTIONS = 50


@login_required
@require_http_methods(["GET", "POST"])
def annuaire(request: AuthedRequest, structure_id: int) -> HttpResponse:
    place = access_structure(request.user, structure_id, purpose="annuaire.view", admin=True, request=request)
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    if form.is_bound and form.is_valid():
        uploaded = form.cleaned_data["file"]
        run = services.do_import_annuaire(
            uploaded, file_name=uploaded.name, by=request.user, structure=place, request=request
        )
        if run.error:
            messages.error(request, run.error)
        else:
            messages.success(request, _("%(rows)s lines imported (%(people)s people), %(rejected)s rejected.") % {
                "rows": run.rows, "people": run.people, "rejected": run.rejected})  # fmt: skip
        return redirect("accounts:annuaire", place.pk)
    return render(request, "accounts/annuaire.html", _context(place, form))


def _context(place: Structure, form: UploadForm) -> dict:
    professionals = list(
        Professional.objects.filter(user__memberships__structure=place)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")
    )
    entries = services.latest_entries([place.pk], [p.rpps for p in professionals])
    imports = list(services.import_history(place)[:10])
    latest = imports[0] if imports else None
    return {
        "structure": place,
        "form": form,
        "rows": [_row(p, entries.get(p.rpps, [])) for p in professionals],
        "imports": imports,
        "latest": latest,
        "latest_rejections": latest.rejected_lines[:_SHOWN_REJECTIONS] if latest else [],
        "reject_form": RejectForm(),
    }


def _row(professional: Professional, entries: list[AnnuaireEntry]) -> dict:
    """One professional, their Annuaire lines, and the line the Verify button offers."""
    same_profession = [e for e in entries if e.profession_code == professional.profession_code]
    candidate = (same_profession or entries)[0] if entries else None
    return {
        "professional": professional,
        "entries": entries,
        "candidate": candidate,
        "profession_matches": bool(same_profession),
        "name_matches": candidate is not None and same_family_name(professional.user.last_name, candidate.last_name),
    }


@login_required
@require_POST
@reauthentication_required
@service_form(back=lambda request, kwargs: reverse("accounts:annuaire", args=[kwargs["structure_id"]]))
def verify(request: AuthedRequest, structure_id: int, professional_id: int) -> HttpResponse:
    place, professional = access_structure_professional(
        request.user, structure_id, professional_id, purpose="identity.verify", request=request
    )
    form = VerifyForm(request.POST)
    entry = services.visible_entry(place, form.cleaned_data["entry"] if form.is_valid() else None)
    services.do_verify_professional(professional, by=request.user, entry=entry, request=request)
    messages.success(request, _("%(name)s is verified.") % {"name": professional.user.display_name})
    return redirect("accounts:annuaire", place.pk)


@login_required
@require_POST
@reauthentication_required
@service_form(back=lambda request, kwargs: reverse("accounts:annuaire", args=[kwargs["structure_id"]]))
def reject(request: AuthedRequest, structure_id: int, professional_id: int) -> HttpResponse:
    place, professional = access_structure_professional(
        request.user, structure_id, professional_id, purpose="identity.reject", request=request
    )
    form = RejectForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    services.do_reject_professional(professional, by=request.user, reason=reason, request=request)
    messages.success(request, _("%(name)s's identity is rejected.") % {"name": professional.user.display_name})
    return redirect("accounts:annuaire", place.pk)
