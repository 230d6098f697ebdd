from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cordee.accounts import services
from cordee.accounts.access import access_membership, access_structure
from cordee.accounts.adapters import INVITATION_SESSION_KEY
from cordee.accounts.forms import InvitationForm, RoleForm
from cordee.accounts.models import Membership
from cordee.audit import services as audit
from cordee.lib.http import AuthedRequest
from cordee.lib.ids import parse_ids
from cordee.lib.views import service_form


@login_required
@require_GET
def structures(request: AuthedRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user=request.user).select_related("structure").order_by("structure__name")
    return render(request, "accounts/structures.html", {"memberships": memberships})


@login_required
@require_GET
def structure(request: AuthedRequest, structure_id: int) -> HttpResponse:
    place = access_structure(request.user, structure_id, purpose="structure.view", request=request)
    is_admin = services.is_structure_admin(request.user, place)
    members = (
        place.memberships.select_related("user", "user__professional", "user__staff")
        .prefetch_related("user__staff__acts_for")
        .order_by("user__last_name")
    )
    context = {
        "structure": place,
        "members": members,
        "is_admin": is_admin,
        "professionals": [m.user.professional for m in members if hasattr(m.user, "professional")] if is_admin else [],
        "invite_form": InvitationForm() if is_admin else None,
        "invitations": place.invitations.order_by("-created_at")[:20] if is_admin else [],
    }
    return render(request, "accounts/structure.html", context)


@login_required
@require_POST
def invite(request: AuthedRequest, structure_id: int) -> HttpResponse:
    place = access_structure(request.user, structure_id, purpose="structure.invite", admin=True, request=request)
    form = InvitationForm(request.POST)
    if form.is_valid():
        services.do_invite(
            place,
            form.cleaned_data["email"],
            form.cleaned_data["kind"],
            form.cleaned_data["role"],
            invited_by=request.user,
            request=request,
        )
        messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
    else:
        errors = [str(error) for field_errors in form.errors.values() for error in field_errors]
        messages.error(request, _("The invitation was not sent: %(why)s") % {"why": " ".join(errors)})
    return redirect("accounts:structure", place.pk)


def _structure_of_membership(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    """Where a refused membership form goes back to (reached only after ``access_membership`` passed)."""
    structure_id = Membership.objects.filter(pk=kwargs["membership_id"]).values_list("structure_id", flat=True)
    return reverse("accounts:structure", args=[structure_id.first()])


@login_required
@require_POST
@reauthentication_required
@service_form(back=_structure_of_membership)
def change_role(request: AuthedRequest, membership_id: int) -> HttpResponse:
    membership = access_membership(request.user, membership_id, purpose="membership.role", request=request)
    form = RoleForm(request.POST)
    if not form.is_valid():
        raise Http404
    services.do_change_role(membership, form.cleaned_data["role"], by=request.user, request=request)
    messages.success(request, _("Role changed."))
    return redirect("accounts:structure", membership.structure_id)


@login_required
@require_POST
@reauthentication_required
@service_form(back=_structure_of_membership)
def set_security_officer(request: AuthedRequest, membership_id: int) -> HttpResponse:
    """A structure admin names (or stops naming) a member security officer: audited, in sudo mode."""
    membership = access_membership(request.user, membership_id, purpose="membership.security_officer", request=request)
    value = request.POST.get("security_officer")
    if value not in ("0", "1"):
        raise Http404
    services.do_set_security_officer(membership, value == "1", by=request.user, request=request)
    messages.success(request, _("Saved."))
    return redirect("accounts:structure", membership.structure_id)


@login_required
@require_POST
@reauthentication_required
@service_form(back=_structure_of_membership)
def set_acts_for(request: AuthedRequest, membership_id: int) -> HttpResponse:
    membership = access_membership(request.user, membership_id, purpose="staff.acts_for", request=request)
    try:
        ids = parse_ids(request.POST.getlist("professionals"))
    except Http404:
        raise ValidationError(_("Invalid choice.")) from None
    services.do_set_acts_for(membership, ids, by=request.user, request=request)
    messages.success(request, _("Saved."))
    return redirect("accounts:structure", membership.structure_id)


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    pending = services.pending_invitation(token)
    if pending is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    user = request.user
    if not user.is_authenticated:
        request.session[INVITATION_SESSION_KEY] = pending.pk
        return render(request, "accounts/invitation.html", {"invitation": pending})
    if request.method == "POST":
        try:
            membership = services.do_accept_invitation(pending, user, request=request)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("web:home")
        if membership is None:  # a patient's account, now linked to their identity
            messages.success(request, _("Your account is now linked to your care team."))
            return redirect("web:home")
        messages.success(request, _("You joined %(name)s.") % {"name": pending.structure.name})
        return redirect("accounts:structure", pending.structure_id)
    return render(request, "accounts/invitation.html", {"invitation": pending})


@login_required
@require_GET
def security(request: AuthedRequest) -> HttpResponse:
    sessions = UserSession.objects.purge_and_list(request.user)
    current = request.session.session_key
    return render(request, "accounts/security.html", {"sessions": sessions, "current_key": current})


@login_required
@require_POST
def revoke_session(request: AuthedRequest, session_id: int) -> HttpResponse:
    session = UserSession.objects.filter(pk=session_id, user=request.user).first()
    if session is None or session.session_key == request.session.session_key:
        raise Http404
    with transaction.atomic():
        audit.record(
            "session.revoked", request=request, target=request.user, details={"session": session.pk, "ip": session.ip}
        )
        session.end()
    messages.success(request, _("The session was closed."))
    return redirect("accounts:security")


@login_required
@require_POST
def revoke_other_sessions(request: AuthedRequest) -> HttpResponse:
    others = [s for s in UserSession.objects.filter(user=request.user) if s.session_key != request.session.session_key]
    with transaction.atomic():
        for session in others:
            audit.record(
                "session.revoked",
                request=request,
                target=request.user,
                details={"session": session.pk, "ip": session.ip},
            )
            session.end()
    messages.success(request, _("%(n)s other session(s) closed.") % {"n": len(others)})
    return redirect("accounts:security")
