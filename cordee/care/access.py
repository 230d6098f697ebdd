"""The only way to reach a patient: ``access_patient``.

Who passes (checked on every call, nothing cached, so a removal or an opposition counts at once):

- the patient themselves (``patient.user``);
- an active member of the patient's care team who passes ``can_open_patient_data``: a verified
  professional, or a staff member acting (``acting_for``) for a verified professional who is
  in the same team and whom they still act for;
- a verified professional holding an unexpired break-the-glass grant for this patient.

A recorded opposition shuts out the person it names (and staff acting for them); an
opposition to sharing within the whole team shuts out every team member, not the patient,
and not a break-the-glass grant (an emergency is reviewed after the fact).

Everyone else gets ``Http404``, raised exactly as for a patient that does not exist.

Auditing is done here, so that it cannot be forgotten: every successful call writes an
``access`` entry with the caller's purpose (``audit=False`` only for a ``do_*`` service that
writes its own entry for the same act); every refusal writes a ``security`` entry that is the
same for a missing and a forbidden patient.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, NoReturn

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from cordee.accounts.guards import can_open_patient_data, verified_professional
from cordee.accounts.models import Membership, Patient, Professional, Staff, User
from cordee.audit import services as audit_trail
from cordee.audit.models import AuditEntry
from cordee.care import purposes
from cordee.care.models import BreakGlassGrant, CareTeamMember, Opposition
from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse
from cordee.lib.users import is_active_user

Basis = Literal["self", "care_team", "break_glass"]
PATIENTS_PER_PAGE = 25


def granting_memberships() -> QuerySet[CareTeamMember]:
    """Active care-team stays that open the patient to their member right now."""
    acting_in_team = CareTeamMember.objects.filter(
        patient=OuterRef("patient"), member=OuterRef("acting_for__user"), removed_at__isnull=True
    )
    still_acts_for = Staff.acts_for.through.objects.filter(
        staff__user=OuterRef("member"), professional=OuterRef("acting_for")
    )
    opposed = Opposition.objects.filter(patient=OuterRef("patient"), withdrawn_at__isnull=True).filter(
        Q(scope=Opposition.Scope.TEAM)
        | Q(scope=Opposition.Scope.MEMBER, member=OuterRef("member"))
        | Q(scope=Opposition.Scope.MEMBER, member=OuterRef("acting_for__user"))
    )
    verified = Professional.Verification.VERIFIED
    professional = Q(member__kind=User.Kind.PROFESSIONAL, member__professional__verification=verified)
    staff = Q(
        Exists(acting_in_team),
        Exists(still_acts_for),
        member__kind=User.Kind.STAFF,
        acting_for__verification=verified,
        acting_for__user__is_active=True,
        acting_for__user__kind=User.Kind.PROFESSIONAL,
    )
    return CareTeamMember.objects.filter(removed_at__isnull=True, member__is_active=True).filter(
        (professional | staff) & ~Exists(opposed)
    )


def team_access_user_ids(patient_id: int) -> set[int]:
    """Ids of the users whom the care team currently opens the patient to."""
    return set(granting_memberships().filter(patient_id=patient_id).values_list("member_id", flat=True))


def is_opposed_to(patient_id: int, user: User) -> bool:
    """Whether an active opposition names ``user`` for this patient."""
    return Opposition.objects.filter(
        patient_id=patient_id, scope=Opposition.Scope.MEMBER, member=user, withdrawn_at__isnull=True
    ).exists()


def active_grant(user: Any, patient_id: int) -> BreakGlassGrant | None:
    """The user's unexpired break-the-glass grant on this patient, if it still opens it."""
    if verified_professional(user) is None or is_opposed_to(patient_id, user):
        return None
    return (
        BreakGlassGrant.objects.filter(professional=user, patient_id=patient_id, expires_at__gt=timezone.now())
        .order_by("-expires_at")
        .first()
    )


def team_membership(user: Any, patient_id: int) -> CareTeamMember | None:
    """The stay in the patient's care team that opens the patient to ``user``, if any."""
    membership = granting_memberships().filter(member=user, patient_id=patient_id).select_related("acting_for").first()
    if membership is None:
        return None
    acting_for = membership.acting_for if user.kind == User.Kind.STAFF else None
    return membership if can_open_patient_data(user, acting_for=acting_for) else None


def _basis(user: User, patient: Patient, *, break_glass: bool) -> tuple[Basis | None, dict[str, Any]]:
    if user.kind == User.Kind.PATIENT:
        return ("self", {}) if patient.user_id == user.pk else (None, {})
    if team_membership(user, patient.pk) is not None:
        return "care_team", {}
    grant = active_grant(user, patient.pk) if break_glass else None
    if grant is not None:
        return "break_glass", {"grant": grant.pk}
    return None, {}


def actor_structures(user: User) -> str:
    """Display copy of the structures the actor belongs to, for the patient's access history."""
    names = Membership.objects.filter(user=user).order_by("structure__name").values_list("structure__name", flat=True)
    return ", ".join(names)[:200]


def _refuse(user: Any, raw_id: Any, request: HttpRequest | None, purpose: str) -> NoReturn:
    refuse(user, target_type="accounts.patient", raw_id=raw_id, purpose=purpose, request=request, action=purposes.READ)


def access_patient_with_basis(
    user: Any,
    patient_id: Any,
    *,
    purpose: str,
    request: HttpRequest | None = None,
    action: str = purposes.READ,
    audit: bool = True,
    break_glass: bool = True,
) -> tuple[Patient, Basis]:
    """``access_patient``, also saying on what basis the user passed."""
    try:
        pk = parse_id(patient_id)
    except Http404:
        _refuse(user, patient_id, request, purpose)
    patient = Patient.objects.filter(pk=pk).first() if is_active_user(user) else None
    if patient is None:
        _refuse(user, pk, request, purpose)
    basis, details = _basis(user, patient, break_glass=break_glass)
    if basis is None:
        _refuse(user, pk, request, purpose)
    if audit:
        audit_trail.record(
            action,
            actor=user,
            request=request,
            target=patient,
            patient_id=patient.pk,
            purpose=purposes.under_break_glass(purpose) if basis == "break_glass" else purpose,
            category=AuditEntry.Category.ACCESS,
            details={"basis": basis, "structure": actor_structures(user), **details},
        )
    return patient, basis


def access_patient(
    user: Any,
    patient_id: Any,
    *,
    purpose: str,
    request: HttpRequest | None = None,
    action: str = purposes.READ,
    audit: bool = True,
    break_glass: bool = True,
) -> Patient:
    """The patient ``patient_id`` if ``user`` may reach it (see the module), else ``Http404``."""
    patient, _basis_ = access_patient_with_basis(
        user,
        patient_id,
        purpose=purpose,
        request=request,
        action=action,
        audit=audit,
        break_glass=break_glass,
    )
    return patient


def access_found_patients(
    user: Any, found: Iterable[Patient], *, purpose: str, request: HttpRequest | None = None
) -> list[Patient]:
    """Of the patients a look-up found (a search by birth name and birth date), those ``user`` may
    open, each read audited with its basis (care team, or under a break-the-glass grant). The
    others are left out without a word, and without a refusal entry: a search is not an attempt to
    open a given patient, and nothing may say who exists."""
    if not is_active_user(user):
        return []
    opened = []
    structures = actor_structures(user)
    for patient in found:
        basis, details = _basis(user, patient, break_glass=True)
        if basis is None or basis == "self":
            continue
        audit_trail.record(
            purposes.READ,
            actor=user,
            request=request,
            target=patient,
            patient_id=patient.pk,
            purpose=purposes.under_break_glass(purpose) if basis == "break_glass" else purpose,
            category=AuditEntry.Category.ACCESS,
            details={"basis": basis, "structure": structures, **details},
        )
        opened.append(patient)
    return opened


def list_patients(user: User, page_number: Any, *, request: HttpRequest | None = None) -> Page:
    """One page of the patients the care team opens to ``user``; each name shown is a read, audited."""
    memberships = granting_memberships().filter(member=user).select_related("patient").order_by("-added_at", "-pk")
    if user.kind == User.Kind.STAFF and not can_open_patient_data(user):
        memberships = memberships.none()
    page = Paginator(memberships, PATIENTS_PER_PAGE).get_page(page_number)
    structures = actor_structures(user)
    for membership in page.object_list:
        audit_trail.record(
            purposes.READ,
            actor=user,
            request=request,
            target=membership.patient,
            patient_id=membership.patient_id,
            purpose=purposes.PATIENT_LIST,
            category=AuditEntry.Category.ACCESS,
            details={"basis": "care_team", "structure": structures},
        )
    return page


# --- what a patient page shows (the patient itself already reached through access_patient) ----


def care_team_of(patient: Patient) -> QuerySet[CareTeamMember]:
    """Every stay in the patient's care team, present and past."""
    return (
        CareTeamMember.objects.filter(patient=patient)
        .select_related("member__professional", "member__staff", "acting_for__user")
        .order_by("removed_at", "added_at", "pk")
    )


def oppositions_of(patient: Patient) -> QuerySet[Opposition]:
    return Opposition.objects.filter(patient=patient).order_by("withdrawn_at", "-recorded_at", "-pk")


def _within(user: Any, raw_id: Any, target_type: str, purpose: str, request: HttpRequest | None) -> int:
    try:
        return parse_id(raw_id)
    except Http404:
        refuse(user, target_type=target_type, raw_id=raw_id, purpose=purpose, request=request)


def access_team_stay(
    user: Any, patient: Patient, stay_id: Any, *, purpose: str, request: HttpRequest | None = None
) -> CareTeamMember:
    """A stay in the care team of ``patient`` (already accessed by ``user``), or the audited 404."""
    pk = _within(user, stay_id, "care.careteammember", purpose, request)
    stay = CareTeamMember.objects.filter(patient=patient, pk=pk).select_related("member").first()
    if stay is None:
        refuse(user, target_type="care.careteammember", raw_id=pk, purpose=purpose, request=request)
    return stay


def access_opposition(
    user: Any, patient: Patient, opposition_id: Any, *, purpose: str, request: HttpRequest | None = None
) -> Opposition:
    """An opposition of ``patient`` (already accessed by ``user``), or the audited 404."""
    pk = _within(user, opposition_id, "care.opposition", purpose, request)
    opposition = Opposition.objects.filter(patient=patient, pk=pk).first()
    if opposition is None:
        refuse(user, target_type="care.opposition", raw_id=pk, purpose=purpose, request=request)
    return opposition


def team_member_user(patient: Patient, user_id: Any) -> User | None:
    """A user currently in the patient's care team (for an opposition that names them)."""
    try:
        pk = parse_id(user_id)
    except Http404:
        return None
    stay = (
        CareTeamMember.objects.filter(patient=patient, member_id=pk, removed_at__isnull=True)
        .select_related("member")
        .first()
    )
    return stay.member if stay is not None else None
