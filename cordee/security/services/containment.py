"""Containment from an incident's page (issue 17, item 9): what an officer does to stop a breach.

- **Sessions**: every session of the compromised accounts ends and their open sockets close.
  Cordée's API authenticates with the browser's session (``cordee/api.py``): there are no API
  tokens to revoke besides the sessions.
- **Password**: made unusable, so the next sign-in needs the e-mailed reset (the account is told
  by e-mail, without any detail of the incident).
- **Second factor**: the account's authenticators (TOTP, passkeys, recovery codes) are removed;
  second factors being mandatory for professionals, the next sign-in goes through their set-up.
- **Vault KEK**: ``manage.py vault_rotate`` wrapped: a new primary key-encryption key, every data
  key re-wrapped (old keys kept to read backups; retiring them stays a command-line step).
- **Audit signing key**: ``manage.py audit rotate-signing-key`` wrapped (``cordee.audit.rotation``):
  a new Ed25519 key signs the checkpoints from now on, the old public key joins the key ring so that
  what it signed still verifies, and a checkpoint by the old key made after now is refused.

Each action is one ``security.containment`` audit entry naming the incident and the accounts; the
incident's ``contained_at`` is set the first time and the measure is appended to its
``measures_taken``. Only the incident's structure's members, never one's own account.
"""

from __future__ import annotations

import functools
import io

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.management import call_command
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cordee.accounts.models import User
from cordee.audit import rotation
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.security.access import incidents_for
from cordee.security.models import Incident
from cordee.security.services.detections import _end_sessions

SESSIONS, PASSWORD, FACTORS = "sessions", "password", "factors"
ACTIONS = (SESSIONS, PASSWORD, FACTORS)
AUDIT_KEY = "audit_key"


def measure_words() -> dict[str, str]:
    """The measures in words (the register's measures taken, the drafts)."""
    return {
        SESSIONS: _("sessions ended"),
        PASSWORD: _("passwords reset"),
        FACTORS: _("second factors reset"),
        "kek": _("vault key encryption key rotated"),
        AUDIT_KEY: _("audit signing key rotated"),
    }


def _reset_notice(email: str) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("[Cordée] Your password must be reset")
        body = _(
            "Your security officer has reset the access to your Cordée account. To sign in again, choose a "
            "new password here: %(link)s\nYou will then set up your second factor again.\n"
        ) % {"link": settings.SITE_URL + reverse("account_reset_password")}
    send_mail(subject, body, None, [email])


def _note(incident: Incident, measure: str) -> None:
    now = timezone.now()
    line = f"[{timezone.localtime(now):%d/%m/%Y %H:%M}] {measure}"
    incident.measures_taken = f"{incident.measures_taken}\n{line}".strip()
    fields = ["measures_taken"]
    if incident.contained_at is None:
        incident.contained_at = now
        fields.append("contained_at")
    incident.save(update_fields=fields)


def do_contain_accounts(
    incident: Incident, accounts: list[User], actions: list[str], *, by: User, request: HttpRequest | None = None
) -> dict[str, int]:
    """End the sessions / reset the password / remove the second factors of these accounts."""
    chosen = [action for action in ACTIONS if action in actions]
    if not chosen:
        raise ValidationError(_("Choose at least one measure."))
    if not accounts:
        raise ValidationError(_("Choose the compromised accounts."))
    if any(user.pk == by.pk for user in accounts):
        raise ValidationError(_("Another officer contains your own account."))
    counts = {"accounts": len(accounts), "sessions": 0, "passwords": 0, "factors": 0}
    with transaction.atomic():
        current = incidents_for(by).select_for_update().filter(pk=incident.pk).first()
        if current is None or current.structure_id is None:
            raise PermissionDenied
        members = set(User.objects.filter(memberships__structure_id=current.structure_id).values_list("pk", flat=True))
        if any(user.pk not in members for user in accounts):
            raise PermissionDenied
        for user in accounts:
            counts["sessions"] += _end_sessions(user, "incident_containment")  # every measure ends them
            if PASSWORD in chosen:
                user.set_unusable_password()
                user.save(update_fields=["password"])
                counts["passwords"] += 1
                if user.email:
                    transaction.on_commit(functools.partial(_reset_notice, user.email))
            if FACTORS in chosen:
                # Removed without the per-object signals: the containment's own entry says who and
                # why (the signal would record each as the account's own "mfa.removed" and raise
                # a detection alert about the officer's measure).
                factors = Authenticator.objects.filter(user=user)
                counts["factors"] += factors.count()
                factors._raw_delete(factors.db)
        measure = _("Containment (%(actions)s) of %(n)s account(s) by %(by)s.") % {
            "actions": ", ".join(str(measure_words()[action]) for action in chosen),
            "n": len(accounts),
            "by": audit.actor_display(by).get("name", ""),
        }
        _note(current, measure)
        audit.record(
            "security.containment",
            actor=by,
            request=request,
            target=current,
            details={**counts, "actions": chosen, "accounts": sorted(user.pk for user in accounts)},
        )
    return counts


def do_rotate_kek(incident: Incident, *, by: User, request: HttpRequest | None = None) -> str:
    """``manage.py vault_rotate`` for an incident (the key file exposed, or suspected): a new
    primary KEK, every data key re-wrapped; audited by the command (``vault.kek_rotated``) and here."""
    current = incidents_for(by).filter(pk=incident.pk).first()
    if current is None:
        raise PermissionDenied
    out = io.StringIO()
    call_command("vault_rotate", stdout=out)
    rotated = audit_last("vault.kek_rotated")
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=current.pk)
        _note(locked, _("Vault key encryption key rotated (%(n)s data keys re-wrapped).") % rotated)
        audit.record(
            "security.containment",
            actor=by,
            request=request,
            target=locked,
            details={"actions": ["kek"], "rewrapped": rotated["n"], "new_key_id": rotated["new_key_id"]},
        )
    return out.getvalue().strip()


def do_rotate_audit_key(incident: Incident, *, by: User, request: HttpRequest | None = None) -> rotation.Rotation:
    """``manage.py audit rotate-signing-key`` for an incident (the signing key file exposed, or
    suspected): audited by the rotation (``audit.signing_key_rotated``) and here. Raises
    ``rotation.RotationRefused`` (nothing changed) when the key ring is unsound."""
    current = incidents_for(by).filter(pk=incident.pk).first()
    if current is None:
        raise PermissionDenied
    done = rotation.rotate(actor=by, request=request)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=current.pk)
        _note(locked, _("Audit signing key rotated (new key %(key)s).") % {"key": done.new_key_id[:16]})
        audit.record(
            "security.containment",
            actor=by,
            request=request,
            target=locked,
            details={
                "actions": [AUDIT_KEY],
                "old_key_id": done.old_key_id,
                "new_key_id": done.new_key_id,
                "retired_keys": done.retired_keys,
            },
        )
    return done


def audit_last(action: str) -> dict[str, object]:
    entry = AuditEntry.objects.filter(action=action).order_by("-seq").first()
    details = entry.details if entry is not None else {}
    return {"n": details.get("rewrapped", 0), "new_key_id": details.get("new_key_id", "")}
