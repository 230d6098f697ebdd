"""State changes of accounts and structures. Each ``do_*`` audits in its own transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts import identifiers
from cordee.accounts.models import Invitation, Membership, Patient, Professional, Staff, Structure, User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.lib import modules as module_registry
from cordee.vault.blind import blind_index


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_structure_admin(user: User, structure: Structure) -> bool:
    return Membership.objects.filter(user=user, structure=structure, role=Membership.Role.ADMIN).exists()


def do_set_modules(user: User, modules: list[str], *, request=None) -> None:
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


def _mail_invitation(invitation: Invitation, token: str, subject: str) -> None:
    """The invitation's link by e-mail, after the commit (the link is the only secret in it)."""
    link = settings.SITE_URL + reverse("accounts:invitation", args=[token])
    context = {
        "structure": invitation.structure,
        "inviter": invitation.invited_by,
        "link": link,
        "invitation": invitation,
    }
    body = render_to_string("accounts/email/invitation.txt", context)
    transaction.on_commit(lambda: send_mail(subject, body, None, [invitation.email]))


def _new_invitation(
    structure: Structure, email: str, kind: str, role: str, *, by: User | None, **extra
) -> tuple[Invitation, str]:
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        structure=structure,
        email=email.strip().lower(),
        kind=kind,
        role=role,
        token_hash=token_hash(token),
        invited_by=by,
        expires_at=timezone.now() + dt.timedelta(days=settings.INVITATION_VALIDITY_DAYS),
        **extra,
    )
    return invitation, token


def do_invite(
    structure: Structure, email: str, kind: str, role: str, *, invited_by: User, request=None
) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link (after commit). Returns it with its clear token."""
    if not is_structure_admin(invited_by, structure):
        raise PermissionDenied
    if kind == User.Kind.PATIENT and role == Membership.Role.ADMIN:
        raise ValidationError(_("A patient cannot administer a structure."))
    with transaction.atomic():
        invitation, token = _new_invitation(structure, email, kind, role, by=invited_by)
        audit.record(
            "invitation.sent",
            actor=invited_by,
            request=request,
            target=invitation,
            target_display=invitation.email,
            details={"structure": structure.pk, "kind": kind, "role": role},
        )
        _mail_invitation(invitation, token, _("[Cordée] Invitation to join %(name)s") % {"name": structure.name})
    return invitation, token


def do_invite_patient(
    patient: Patient, email: str, *, structure: Structure, invited_by: User, request=None
) -> tuple[Invitation, str]:
    """Invite a registered patient to Cordée: the account created from the link becomes theirs.

    The caller (``care``) checked that ``invited_by`` is a professional of the patient's care team;
    here: they belong to ``structure`` (named in the e-mail), the patient has no account yet and the
    address is not a professional's. The entry names the patient by id only (no address either).
    """
    if not Membership.objects.filter(user=invited_by, structure=structure).exists():
        raise PermissionDenied
    if patient.user_id is not None:
        raise ValidationError(_("This patient already has a Cordée account."))
    address = email.strip().lower()
    try:
        EmailValidator()(address)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid e-mail address.")}) from None
    if User.objects.filter(email=address).exclude(kind=User.Kind.PATIENT).exists():
        raise ValidationError({"email": _("This address is a professional's account: use the patient's own.")})
    with transaction.atomic():
        invitation, token = _new_invitation(
            structure, address, User.Kind.PATIENT, Membership.Role.MEMBER, by=invited_by, patient=patient
        )
        audit.record(
            "patient.invited",
            actor=invited_by,
            request=request,
            target=invitation,
            patient_id=patient.pk,
            category=AuditEntry.Category.ACCESS,
            details={"structure": structure.pk},
        )
        _mail_invitation(invitation, token, _("[Cordée] Your invitation to Cordée"))
    return invitation, token


def pending_invitation(token: str) -> Invitation | None:
    invitation = Invitation.objects.select_related("structure").filter(token_hash=token_hash(token)).first()
    return invitation if invitation is not None and invitation.is_pending else None


def do_accept_invitation(invitation: Invitation, user: User, *, request=None) -> Membership | None:
    """The invited person joins the structure, or, invited as a patient, becomes that patient's
    account (no membership: a patient's link is their care team). The invitation must be pending."""
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_pending:
            raise ValidationError(_("This invitation has expired or was already used."))
        if user.email.lower() != locked.email:
            raise ValidationError(_("This invitation was sent to another e-mail address."))
        locked.accepted_at = timezone.now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        if locked.patient_id is not None:
            _link_patient_account(locked, user, request=request)
            return None
        membership, _created = Membership.objects.get_or_create(
            user=user, structure=locked.structure, defaults={"role": locked.role}
        )
        audit.record(
            "invitation.accepted",
            actor=user,
            request=request,
            target=locked,
            target_display=locked.email,
            details={"structure": locked.structure_id, "role": membership.role},
        )
    return membership


def _link_patient_account(invitation: Invitation, user: User, *, request=None) -> None:
    """The account becomes the invited patient's (their names stay only in the encrypted identity)."""
    if user.kind != User.Kind.PATIENT:
        raise ValidationError(_("This invitation is for a patient's account."))
    patient_id = invitation.patient_id
    assert patient_id is not None  # noqa: S101  (only called for a patient's invitation)
    if Patient.objects.filter(user=user).exclude(pk=patient_id).exists():
        raise ValidationError(_("This account is already another patient's."))
    linked = Patient.objects.filter(pk=patient_id, user__isnull=True).update(user=user)
    if not linked and not Patient.objects.filter(pk=patient_id, user=user).exists():
        raise ValidationError(_("This patient already has a Cordée account."))
    audit.record(
        "patient.account_linked",
        actor=user,
        request=request,
        target=user,
        patient_id=invitation.patient_id,
        category=AuditEntry.Category.ACCESS,
        details={"invitation": invitation.pk},
    )


def do_change_role(membership: Membership, role: str, *, by: User, request=None) -> Membership:
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


def do_set_security_officer(membership: Membership, value: bool, *, by: User, request=None) -> None:
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
_INSEE_PLACE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_ADDRESS_MAX = 500

# Which identity status may follow which (ANS "Référentiel INS"): the INS is retrieved through
# the INSi teleservice (récupérée) and/or the identity checked on a high-trust document (validée);
# both make it qualifiée. Any status may fall back to provisoire when a doubt arises.
_STATUS_NEXT = {
    Patient.IdentityStatus.PROVISOIRE: {Patient.IdentityStatus.RECUPEREE, Patient.IdentityStatus.VALIDEE},
    Patient.IdentityStatus.RECUPEREE: {Patient.IdentityStatus.QUALIFIEE, Patient.IdentityStatus.PROVISOIRE},
    Patient.IdentityStatus.VALIDEE: {Patient.IdentityStatus.QUALIFIEE, Patient.IdentityStatus.PROVISOIRE},
    Patient.IdentityStatus.QUALIFIEE: {Patient.IdentityStatus.PROVISOIRE},
}


def check_patient_traits(
    *,
    birth_name: str,
    birth_given_names: str,
    birth_date: dt.date,
    sex: str,
    birth_place_code: str,
    ins: str = "",
    address: str = "",
) -> dict[str, object]:
    """Validate and normalise the five strict traits (and the INS and address if given)."""
    errors: dict[str, str] = {}
    if not birth_name.strip():
        errors["birth_name"] = _("The birth name is required.")
    if not birth_given_names.strip():
        errors["birth_given_names"] = _("The birth given names are required.")
    if birth_date > timezone.localdate():
        errors["birth_date"] = _("The birth date cannot be in the future.")
    if sex not in Patient.Sex.values:
        errors["sex"] = _("Unknown sex.")
    if not _INSEE_PLACE.match(birth_place_code.strip().upper()):
        errors["birth_place_code"] = _("The INSEE code of the birth place has 5 characters (99xxx abroad).")
    normalised_ins = ""
    if ins:
        try:
            normalised_ins = identifiers.validate_ins(ins)
        except identifiers.IdentifierError as exc:
            errors["ins"] = exc.messages[0]
    address = "\n".join(line.strip() for line in address.strip().splitlines() if line.strip())
    if len(address) > _ADDRESS_MAX:
        errors["address"] = _("The address is too long (%(max)d characters at most).") % {"max": _ADDRESS_MAX}
    if errors:
        raise ValidationError(errors)
    return {
        "birth_name": birth_name.strip().upper(),
        "birth_given_names": " ".join(birth_given_names.split()),
        "birth_date": birth_date,
        "sex": sex,
        "birth_place_code": birth_place_code.strip().upper(),
        "ins": normalised_ins,
        "address": address,
    }


def do_register_patient(*, by: User, request=None, **traits) -> Patient:
    clean = check_patient_traits(**traits)
    with transaction.atomic():
        patient = Patient.objects.create(**clean)
        audit.record(
            "patient.registered",
            actor=by,
            request=request,
            target=patient,
            patient_id=patient.pk,
            category=AuditEntry.Category.ACCESS,
        )
    return patient


def find_patients_by_ins(ins: str) -> QuerySet[Patient]:
    """Patients with this INS, through its blind index (identity data is stored encrypted).

    No access check here: callers reach patients through ``care.access`` before showing anything.
    """
    try:
        normalised = identifiers.validate_ins(ins)
    except identifiers.IdentifierError as exc:
        raise ValidationError({"ins": exc.messages[0]}) from None
    return Patient.objects.filter(ins_index=blind_index("patient.ins", normalised))


def find_patients_by_name_and_birth_date(birth_name: str, birth_date: dt.date) -> QuerySet[Patient]:
    """Patients with this birth name (case, accents, hyphens and spaces ignored) born on that day.

    No access check here either (see ``find_patients_by_ins``).
    """
    key = blind_index("patient.birth_name+birth_date", birth_name, birth_date)
    return Patient.objects.filter(birth_index=key) if key else Patient.objects.none()


def do_set_identity_status(patient: Patient, status: str, *, by: User, reason: str = "", request=None) -> Patient:
    current = Patient.IdentityStatus(patient.identity_status)
    wanted = Patient.IdentityStatus(status)
    if wanted not in _STATUS_NEXT[current]:
        raise ValidationError(
            _("The identity cannot go from %(a)s to %(b)s.") % {"a": current.label, "b": wanted.label}
        )
    if wanted in (Patient.IdentityStatus.RECUPEREE, Patient.IdentityStatus.QUALIFIEE) and not patient.ins:
        raise ValidationError(_("An identity is retrieved or qualified only with its INS number."))
    if wanted == Patient.IdentityStatus.PROVISOIRE and not reason.strip():
        raise ValidationError(_("Say why the identity goes back to provisional."))
    with transaction.atomic():
        patient.identity_status = wanted
        patient.save(update_fields=["identity_status"])
        audit.record(
            "patient.identity_status_changed",
            actor=by,
            request=request,
            target=patient,
            patient_id=patient.pk,
            category=AuditEntry.Category.ACCESS,
            details={"before": current.value, "after": wanted.value, "reason": reason[:200]},
        )
    return patient


def do_set_acts_for(membership: Membership, professional_ids: list[int], *, by: User, request=None) -> Staff:
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


def do_create_structure(
    *, name: str, kind: str, finess: str = "", siret: str = "", admin_email: str, operator: str
) -> tuple[Structure, Invitation, str]:
    """Create a structure and invite its first administrator (the link is returned, and mailed).

    The platform operator runs this from the command line (there is no Django admin): ``operator``
    names who ran it (the system account that ran the command) in the audit entry.
    """
    structure = Structure(name=name.strip(), kind=kind, finess=finess or None, siret=siret or None)
    structure.full_clean()
    email = admin_email.strip().lower()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        structure.save()
        invitation = Invitation.objects.create(
            structure=structure,
            email=email,
            kind=User.Kind.STAFF,
            role=Membership.Role.ADMIN,
            token_hash=token_hash(token),
            invited_by=None,
            expires_at=timezone.now() + dt.timedelta(days=settings.INVITATION_VALIDITY_DAYS),
        )
        audit.record(
            "structure.created",
            target=structure,
            details={"kind": kind, "operator": operator[:100], "first_admin_invitation": invitation.pk},
        )
        link = settings.SITE_URL + reverse("accounts:invitation", args=[token])
        body = render_to_string(
            "accounts/email/invitation.txt",
            {"structure": structure, "inviter": None, "link": link, "invitation": invitation},
        )
        transaction.on_commit(
            lambda: send_mail(_("[Cordée] Invitation to join %(name)s") % {"name": structure.name}, body, None, [email])
        )
    return structure, invitation, link
