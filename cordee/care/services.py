"""State changes of the care relationship. Each ``do_*`` audits in the same transaction.

Team changes serialise on the patient row (``select_for_update``), so that two concurrent
removals cannot leave a team without a professional, and announce who gained or lost access
with ``care_team_changed`` after the commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import Invitation, Membership, Patient, Professional, User
from cordee.accounts.officers import reviewing_officers
from cordee.accounts.services import do_invite_patient, find_patients_by_ins
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.care import purposes
from cordee.care.access import actor_structures, granting_memberships, is_opposed_to, team_access_user_ids
from cordee.care.models import BreakGlassGrant, CareTeamMember, Opposition
from cordee.care.signals import break_glass_opened, care_team_changed, patient_thread_close_requested

BREAK_GLASS_MIN_REASON = 15  # characters, once blanks are collapsed
INS_LENGTH = 15


def _lock_patient(patient_id: int) -> None:
    """Serialise the team changes of one patient until the transaction ends."""
    list(Patient.objects.select_for_update().filter(pk=patient_id).values_list("pk", flat=True))


def _announce(patient_id: int, before: set[int], after: set[int]) -> None:
    def send() -> None:
        for user_id in sorted(before ^ after):
            care_team_changed.send(
                sender=CareTeamMember, patient_id=patient_id, user_id=user_id, joined=user_id in after
            )

    transaction.on_commit(send)


def is_team_professional(user: User, patient_id: int) -> bool:
    return (
        user.kind == User.Kind.PROFESSIONAL
        and granting_memberships().filter(member=user, patient_id=patient_id).exists()
    )


def _record(action: str, *, by: User, request: HttpRequest | None, patient_id: int, purpose: str, **kw: Any) -> None:
    details = {"structure": actor_structures(by), **kw.pop("details", {})}
    audit.record(
        action,
        actor=by,
        request=request,
        patient_id=patient_id,
        purpose=purpose,
        category=AuditEntry.Category.ACCESS,
        details=details,
        **kw,
    )


# --- care team ----------------------------------------------------------------------------


def team_candidates(user: User, patient: Patient) -> QuerySet[User]:
    """Colleagues of ``user`` (same structures) who could join the patient's team."""
    structures = Membership.objects.filter(user=user).values("structure_id")
    in_team = CareTeamMember.objects.filter(patient=patient, removed_at__isnull=True).values("member_id")
    return (
        User.objects.filter(
            is_active=True,
            kind__in=[User.Kind.PROFESSIONAL, User.Kind.STAFF],
            memberships__structure_id__in=structures,
        )
        .exclude(pk__in=in_team)
        .distinct()
        .order_by("last_name", "first_name")
    )


def professional_by_rpps(rpps: str) -> User | None:
    professional = Professional.objects.select_related("user").filter(rpps=rpps.strip()).first()
    return professional.user if professional is not None and professional.user.is_active else None


def _acting_for(patient_id: int, staff_user: User, by: User) -> Professional:
    """The verified professional of the team a staff member will act for (the adder first)."""
    staff = getattr(staff_user, "staff", None)
    candidates = Professional.objects.none()
    if staff is not None:
        candidates = staff.acts_for.filter(
            verification=Professional.Verification.VERIFIED,
            user__care_teams__patient_id=patient_id,
            user__care_teams__removed_at__isnull=True,
        )
    choice = candidates.filter(user=by).first() or candidates.order_by("pk").first()
    if choice is None:
        raise ValidationError(
            _("%(name)s does not act for a verified professional of this care team.")
            % {"name": staff_user.display_name}
        )
    return choice


def do_add_to_care_team(
    patient: Patient, member: User, *, by: User, request: HttpRequest | None = None
) -> CareTeamMember:
    """``by`` (a professional of the team) adds ``member`` (a professional or staff) to the team."""
    if member.kind not in (User.Kind.PROFESSIONAL, User.Kind.STAFF) or not member.is_active:
        raise ValidationError(_("Only professionals and staff with an active account join a care team."))
    with transaction.atomic():
        _lock_patient(patient.pk)
        if not is_team_professional(by, patient.pk):
            raise PermissionDenied
        if CareTeamMember.objects.filter(patient=patient, member=member, removed_at__isnull=True).exists():
            raise ValidationError(_("%(name)s is already in the care team.") % {"name": member.display_name})
        if is_opposed_to(patient.pk, member):
            raise ValidationError(
                _("The patient opposed sharing their data with %(name)s.") % {"name": member.display_name}
            )
        acting_for = _acting_for(patient.pk, member, by) if member.kind == User.Kind.STAFF else None
        before = team_access_user_ids(patient.pk)
        try:
            with transaction.atomic():
                row = CareTeamMember.objects.create(
                    patient=patient,
                    member=member,
                    member_display=audit.actor_display(member),
                    acting_for=acting_for,
                    added_by_id=by.pk,
                    added_by_display=audit.actor_display(by),
                )
        except IntegrityError:  # a concurrent add of the same person won the race
            raise ValidationError(_("%(name)s is already in the care team.") % {"name": member.display_name}) from None
        _record(
            "care.member_added",
            by=by,
            request=request,
            patient_id=patient.pk,
            purpose=purposes.CARE_TEAM_CHANGE,
            target=row,
            target_display=member.display_name,
            details={"member": member.pk, "acting_for": acting_for.pk if acting_for else None},
        )
        _announce(patient.pk, before, team_access_user_ids(patient.pk))
    return row


def do_remove_from_care_team(row: CareTeamMember, *, by: User, request: HttpRequest | None = None) -> None:
    """``by`` (a professional of the team) ends ``row``'s stay; the history stays."""
    with transaction.atomic():
        _lock_patient(row.patient_id)
        current = CareTeamMember.objects.select_related("member").get(pk=row.pk)
        if not is_team_professional(by, current.patient_id):
            raise PermissionDenied
        if current.removed_at is not None:
            raise ValidationError(_("This person already left the care team."))
        others = granting_memberships().filter(patient_id=current.patient_id, member__kind=User.Kind.PROFESSIONAL)
        if not others.exclude(pk=current.pk).exists():
            raise ValidationError(_("A care team keeps at least one professional who can open the patient's data."))
        before = team_access_user_ids(current.patient_id)
        current.removed_at = timezone.now()
        current.removed_by_id = by.pk
        current.removed_by_display = audit.actor_display(by)
        current.save(update_fields=["removed_at", "removed_by_id", "removed_by_display"])
        _record(
            "care.member_removed",
            by=by,
            request=request,
            patient_id=current.patient_id,
            purpose=purposes.CARE_TEAM_CHANGE,
            target=current,
            target_display=current.member_display.get("name", ""),
            details={"member": current.member_id},
        )
        _announce(current.patient_id, before, team_access_user_ids(current.patient_id))
    row.removed_at = current.removed_at


# --- oppositions ----------------------------------------------------------------------------


def _may_speak_for(user: User, patient: Patient) -> bool:
    """The patient themselves, or a professional of their care team recording it for them."""
    return patient.user_id == user.pk or is_team_professional(user, patient.pk)


def do_record_opposition(
    patient: Patient,
    *,
    by: User,
    member: User | None = None,
    request: HttpRequest | None = None,
    close_patient_thread: bool = False,
) -> Opposition:
    """Record the patient's opposition to sharing with ``member``, or within the whole team.

    ``close_patient_thread``: the patient herself also closes her own conversation with ``member``
    (the messaging app does it, in this transaction); nobody else may close it for her.
    """
    if member is not None and member.kind not in (User.Kind.PROFESSIONAL, User.Kind.STAFF):
        raise ValidationError(_("An opposition names a professional or a staff member."))
    scope = Opposition.Scope.MEMBER if member is not None else Opposition.Scope.TEAM
    with transaction.atomic():
        _lock_patient(patient.pk)
        if not _may_speak_for(by, patient):
            raise PermissionDenied
        if Opposition.objects.filter(patient=patient, scope=scope, member=member, withdrawn_at__isnull=True).exists():
            raise ValidationError(_("This opposition is already recorded."))
        before = team_access_user_ids(patient.pk)
        opposition = Opposition.objects.create(
            patient=patient,
            scope=scope,
            member=member,
            member_display=audit.actor_display(member) if member is not None else {},
            recorded_by_id=by.pk,
            recorded_by_display=audit.actor_display(by),
        )
        _record(
            "care.opposition_recorded",
            by=by,
            request=request,
            patient_id=patient.pk,
            purpose=purposes.OPPOSITION,
            target=opposition,
            target_display=member.display_name if member is not None else "",
            details={"scope": scope, "member": member.pk if member is not None else None},
        )
        _announce(patient.pk, before, team_access_user_ids(patient.pk))
        if close_patient_thread and member is not None and patient.user_id == by.pk:
            patient_thread_close_requested.send(
                sender=Opposition, patient_id=patient.pk, professional_id=member.pk, by=by, request=request
            )
    return opposition


def do_withdraw_opposition(opposition: Opposition, *, by: User, request: HttpRequest | None = None) -> None:
    """Withdraw an opposition: the patient, or a team professional it does not name."""
    with transaction.atomic():
        _lock_patient(opposition.patient_id)
        current = Opposition.objects.select_related("patient").get(pk=opposition.pk)
        is_patient = current.patient.user_id == by.pk
        names_by = current.scope == Opposition.Scope.MEMBER and current.member_id == by.pk
        if not is_patient and (names_by or not is_team_professional(by, current.patient_id)):
            raise PermissionDenied
        if current.withdrawn_at is not None:
            raise ValidationError(_("This opposition was already withdrawn."))
        before = team_access_user_ids(current.patient_id)
        current.withdrawn_at = timezone.now()
        current.withdrawn_by_id = by.pk
        current.withdrawn_by_display = audit.actor_display(by)
        current.save(update_fields=["withdrawn_at", "withdrawn_by_id", "withdrawn_by_display"])
        _record(
            "care.opposition_withdrawn",
            by=by,
            request=request,
            patient_id=current.patient_id,
            purpose=purposes.OPPOSITION,
            target=current,
            target_display=current.member_display.get("name", ""),
            details={"scope": current.scope, "member": current.member_id},
        )
        _announce(current.patient_id, before, team_access_user_ids(current.patient_id))
    opposition.withdrawn_at = current.withdrawn_at


# --- break-the-glass --------------------------------------------------------------------------


def find_patient(identifier: str) -> Patient | None:
    """The patient a professional names for an emergency access: by INS, or by Cordée number.

    An INS (15 characters) is looked up exactly through its blind index (the identity columns are
    encrypted); a malformed INS gets the identifier checker's own message.
    """
    text = "".join(identifier.split()).lstrip("#").upper()
    if len(text) == INS_LENGTH:
        try:
            found = list(find_patients_by_ins(text)[:2])
        except ValidationError as exc:
            raise ValidationError({"identifier": exc.messages[0]}) from None
        return found[0] if len(found) == 1 else None
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return Patient.objects.filter(pk=int(text)).first()


def _clean_reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise ValidationError({"reason": _("Write the reason for this emergency access.")})
    if len(text) < BREAK_GLASS_MIN_REASON:
        raise ValidationError(
            {"reason": _("Explain the reason in at least %(n)s characters.") % {"n": BREAK_GLASS_MIN_REASON}}
        )
    return text


def check_break_glass(
    user: User, identifier: str, reason: str, *, request: HttpRequest | None = None
) -> tuple[Patient, BreakGlassGrant | None]:
    """Validate an emergency access, then open it (no grant when the team already opens it)."""
    if verified_professional(user) is None:
        raise PermissionDenied
    text = _clean_reason(reason)
    patient = find_patient(identifier)
    if patient is None or is_opposed_to(patient.pk, user):
        raise ValidationError({"identifier": _("No patient has this number or INS.")})
    if granting_memberships().filter(member=user, patient_id=patient.pk).exists():
        return patient, None
    if not reviewing_officers(user).exists():
        raise ValidationError(
            _(
                "An emergency access must be reviewed by a security officer of your structure, and none is named. "
                "Ask the administrator of your structure."
            )
        )
    return patient, do_break_glass(user, patient, text, request=request)


def do_end_break_glass(grant: BreakGlassGrant, *, by: User, reason: str, request: HttpRequest | None = None) -> None:
    """End an emergency access now (a review found it unjustified); nothing if it already ended."""
    now = timezone.now()
    with transaction.atomic():
        ended = BreakGlassGrant.objects.filter(pk=grant.pk, expires_at__gt=now).update(expires_at=now)
        if ended:
            _record(
                "care.break_glass_ended",
                by=by,
                request=request,
                patient_id=grant.patient_id,
                purpose=purposes.BREAK_GLASS,
                target=grant,
                details={"grant": grant.pk, "reason": reason, "professional": grant.professional_id},
            )
            grant.expires_at = now


def do_break_glass(user: User, patient: Patient, reason: str, *, request: HttpRequest | None = None) -> BreakGlassGrant:
    """Open a time-limited grant, audit it and alert the security officers (mail after commit)."""
    now = timezone.now()
    with transaction.atomic():
        grant = BreakGlassGrant.objects.create(
            professional=user,
            professional_display=audit.actor_display(user),
            patient=patient,
            reason=reason,
            granted_at=now,
            expires_at=now + dt.timedelta(minutes=settings.BREAK_GLASS_MINUTES),
        )
        _record(
            "care.break_glass",
            by=user,
            request=request,
            patient_id=patient.pk,
            purpose=purposes.BREAK_GLASS,
            target=grant,
            details={"grant": grant.pk, "minutes": settings.BREAK_GLASS_MINUTES},
        )
        # The security app raises its alerts in this transaction (care does not import security).
        break_glass_opened.send(sender=BreakGlassGrant, grant=grant, request=request)
    return grant


# --- inviting the patient to Cordée ------------------------------------------------------------


def check_invite_patient(
    user: User, patient: Patient, email: str, structure_id: Any, *, request: HttpRequest | None = None
) -> Invitation:
    if not is_team_professional(user, patient.pk):
        raise PermissionDenied
    memberships = Membership.objects.filter(user=user).select_related("structure").order_by("structure__name")
    chosen = memberships.filter(structure_id=structure_id).first() if str(structure_id).isdigit() else None
    membership = chosen or (memberships.first() if memberships.count() == 1 else None)
    if membership is None:
        raise PermissionDenied
    invitation, _token = do_invite_patient(
        patient, email, structure=membership.structure, invited_by=user, request=request
    )
    return invitation
