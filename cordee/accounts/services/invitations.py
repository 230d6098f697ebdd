"""Invitations (a structure's, a patient's), accepting them, and new structures. Each ``do_*`` audits."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import EmailValidator
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cordee.accounts import identifiers
from cordee.accounts.models import Invitation, Membership, Patient, Structure, User
from cordee.accounts.services.members import is_structure_admin
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
    structure: Structure, email: str, kind: str, role: str, *, by: User | None, **extra: Any
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
    structure: Structure, email: str, kind: str, role: str, *, invited_by: User, request: HttpRequest | None = None
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
    patient: Patient, email: str, *, structure: Structure, invited_by: User, request: HttpRequest | None = None
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


def do_accept_invitation(
    invitation: Invitation, user: User, *, request: HttpRequest | None = None
) -> Membership | None:
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


def _link_patient_account(invitation: Invitation, user: User, *, request: HttpRequest | None = None) -> None:
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


def _telephone(value: str) -> str:
    """A French number kept as ``01 23 45 67 89`` (before ``full_clean``: ``+33 …`` is longer)."""
    value = value.strip()
    if not value:
        return ""
    try:
        return identifiers.validate_phone_fr(value)
    except ValidationError as exc:
        raise ValidationError({"telephone": exc.messages}) from None


def do_set_structure_contact(
    structure: Structure, *, street: str, postcode: str, city: str, telephone: str, operator: str
) -> Structure:
    """Set the address and telephone printed on the structure's prescriptions (operator's command)."""
    structure.street, structure.postcode, structure.city = street.strip(), postcode.strip(), city.strip()
    structure.telephone = _telephone(telephone)
    structure.full_clean()
    with transaction.atomic():
        structure.save(update_fields=["street", "postcode", "city", "telephone"])
        audit.record(
            "structure.contact_changed",
            target=structure,
            details={"operator": operator[:100], "postcode": structure.postcode},
        )
    return structure


def do_create_structure(
    *,
    name: str,
    kind: str,
    finess: str = "",
    siret: str = "",
    street: str = "",
    postcode: str = "",
    city: str = "",
    telephone: str = "",
    admin_email: str,
    operator: str,
) -> tuple[Structure, Invitation, str]:
    """Create a structure and invite its first administrator (the link is returned, and mailed).

    The platform operator runs this from the command line (there is no Django admin): ``operator``
    names who ran it (the system account that ran the command) in the audit entry. The address and
    telephone are printed on its prescribers' prescriptions; the telephone is kept as
    ``01 23 45 67 89``.
    """
    telephone = _telephone(telephone)
    structure = Structure(
        name=name.strip(),
        kind=kind,
        finess=finess or None,
        siret=siret or None,
        street=street.strip(),
        postcode=postcode.strip(),
        city=city.strip(),
        telephone=telephone,
    )
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
