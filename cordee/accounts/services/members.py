"""Members of structures: roles, security officers, whom staff act for, chosen modules. Each ``do_*`` audits."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from cordee.accounts.models import Membership, Professional, Staff, Structure, User
from cordee.audit import services as audit
from cordee.lib import modules as module_registry


def is_structure_admin(user: User, structure: Structure) -> bool:
    return Membership.objects.filter(user=user, structure=structure, role=Membership.Role.ADMIN).exists()


def do_set_modules(user: User, modules: list[str], *, request: HttpRequest | None = None) -> None:
    """The modules the user chose, among those the registry offers to their kind of account."""
    try:
        chosen = module_registry.check_modules(modules, user.kind)  # registry order, no duplicates
    except ValueError:
        raise ValidationError(_("Unknown module.")) from None
    with transaction.atomic():
        previous = list(user.modules)
        user.modules = chosen
        user.save(update_fields=["modules"])
        audit.record(
            "account.modules_changed",
            actor=user,
            request=request,
            target=user,
            details={"before": previous, "after": chosen},
        )


def do_change_role(membership: Membership, role: str, *, by: User, request: HttpRequest | None = None) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError(_("Unknown role."))
    if not is_structure_admin(by, membership.structure):
        raise PermissionDenied
    with transaction.atomic():
        if (
            membership.role == Membership.Role.ADMIN
            and role != Membership.Role.ADMIN
            and not Membership.objects.filter(structure=membership.structure, role=Membership.Role.ADMIN)
            .exclude(pk=membership.pk)
            .exists()
        ):
            raise ValidationError(_("A structure keeps at least one administrator."))
        before = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit.record(
            "membership.role_changed",
            actor=by,
            request=request,
            target=membership.user,
            details={"structure": membership.structure_id, "before": before, "after": role},
        )
    return membership


def do_set_security_officer(
    membership: Membership, value: bool, *, by: User, request: HttpRequest | None = None
) -> None:
    """Name a member security officer of the structure (patients cannot be), or stop naming them."""
    if not is_structure_admin(by, membership.structure):
        raise PermissionDenied
    if value and membership.user.kind == User.Kind.PATIENT:
        raise ValidationError(_("A patient cannot be a security officer."))
    with transaction.atomic():
        membership.security_officer = value
        membership.save(update_fields=["security_officer"])
        audit.record(
            "membership.security_officer_changed",
            actor=by,
            request=request,
            target=membership.user,
            details={"structure": membership.structure_id, "after": value},
        )


def can_act_for(staff: Staff, professional: Professional) -> bool:
    return staff.acts_for.filter(pk=professional.pk).exists()


# --- patient identity (INS) ------------------------------------------------------------------
def do_set_acts_for(
    membership: Membership, professional_ids: list[int], *, by: User, request: HttpRequest | None = None
) -> Staff:
    """A structure admin names the professionals of the structure a staff member acts for."""
    if not is_structure_admin(by, membership.structure):
        raise PermissionDenied
    staff = Staff.objects.filter(user=membership.user).first()
    if staff is None:
        raise ValidationError(_("Only staff members act for professionals."))
    allowed = Professional.objects.filter(
        pk__in=professional_ids, user__memberships__structure=membership.structure
    ).distinct()
    if len(allowed) != len(set(professional_ids)):
        raise ValidationError(_("Choose professionals of this structure."))
    with transaction.atomic():
        before = sorted(staff.acts_for.values_list("pk", flat=True))
        # Only the structure's professionals are replaced; links made in other structures stay.
        in_structure = staff.acts_for.filter(user__memberships__structure=membership.structure)
        staff.acts_for.remove(*in_structure)
        staff.acts_for.add(*allowed)
        audit.record(
            "staff.acts_for_changed",
            actor=by,
            request=request,
            target=membership.user,
            details={
                "structure": membership.structure_id,
                "before": before,
                "after": sorted(staff.acts_for.values_list("pk", flat=True)),
            },
        )
    return staff


# --- the platform operator (``manage.py structure``) ------------------------------------------
