"""Demo data: the personas of CONVENTIONS.md, with known passwords and TOTP secrets.

Only for the local demo (``make demo``) and tests: the secrets below are public.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.db import transaction
from django.utils import timezone

from cordee.accounts.models import Membership, Patient, Professional, Staff, Structure, User
from cordee.lib import modules

DEMO_PASSWORD = "cordee-demo-2026"  # noqa: S105  (public demo credential, printed by make demo)
# Base32 TOTP secret shared by every demo account (type it into any authenticator app).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105  (public demo secret)


@dataclass(frozen=True)
class Persona:
    key: str
    email: str
    first_name: str
    last_name: str
    kind: str
    role: str = Membership.Role.MEMBER
    rpps: str = ""
    profession: str = ""
    specialty: str = ""
    function: str = ""
    verified: bool = True
    security_officer: bool = False
    note: str = ""


PERSONAS = (
    Persona(
        "alice",
        "alice@cordee.test",
        "Alice",
        "Martin",
        "professional",
        rpps="10000000009",
        profession="10",
        specialty="Médecine générale",
        note="treating physician of Paula",
    ),
    Persona(
        "bob",
        "bob@cordee.test",
        "Bob",
        "Durand",
        "professional",
        rpps="10000000017",
        profession="60",
        note="nurse in Alice's care team",
    ),
    Persona(
        "charlie",
        "charlie@cordee.test",
        "Charlie",
        "Petit",
        "professional",
        rpps="10000000025",
        profession="10",
        specialty="Cardiologie",
        note="doctor outside Paula's care team",
    ),
    Persona(
        "sam",
        "sam@cordee.test",
        "Sam",
        "Leroy",
        "staff",
        function="secretary",
        note="medical secretary acting for Alice",
    ),
    Persona(
        "ada",
        "ada@cordee.test",
        "Ada",
        "Lovelace",
        "staff",
        role=Membership.Role.ADMIN,
        function="administration",
        note="administrator of the structure",
    ),
    Persona(
        "otto",
        "otto@cordee.test",
        "Otto",
        "Weber",
        "staff",
        function="administration",
        security_officer=True,
        note="security officer of the structure",
    ),
    Persona("paula", "paula@cordee.test", "Paula", "Bernard", "patient", note="patient of Alice"),
)


def totp_now(secret: str = DEMO_TOTP_SECRET, at: float | None = None) -> str:
    """The TOTP code of ``secret`` at ``at`` (default: now), as an authenticator app shows it."""
    import time

    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    counter = int(time.time() if at is None else at) // app_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


@transaction.atomic
def seed_personas(*, with_mfa: bool = True) -> dict[str, User]:
    """The structure and the personas' accounts (the care team and conversations: ``cordee.demo``)."""
    structure, _ = Structure.objects.get_or_create(
        name="Maison de santé des Tilleuls",
        defaults={"kind": Structure.Kind.MAISON_SANTE, "finess": "010002129", "siret": "77554408300386"},
    )
    if not structure.telephone:  # printed on prescriptions (CSP R.5132-3)
        structure.street, structure.postcode, structure.city = "12 rue des Tilleuls", "69003", "Lyon"
        structure.telephone = "04 72 00 00 00"
        structure.save(update_fields=["street", "postcode", "city", "telephone"])
    users: dict[str, User] = {}
    for persona in PERSONAS:
        user = User.objects.filter(email=persona.email).first()
        if user is None:
            names = {} if persona.kind == User.Kind.PATIENT else {"first_name": persona.first_name}
            if names:  # a patient's name lives only in their encrypted identity
                names["last_name"] = persona.last_name
            user = User.objects.create_user(
                persona.email,
                DEMO_PASSWORD,
                **names,
                kind=persona.kind,
                modules=modules.default_modules(persona.kind),
            )
        EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
        users[persona.key] = user
        if persona.kind == User.Kind.PROFESSIONAL:
            Professional.objects.get_or_create(
                user=user,
                defaults={
                    "rpps": persona.rpps,
                    "profession_code": persona.profession,
                    "specialty": persona.specialty,
                    "verification": Professional.Verification.VERIFIED if persona.verified else "unverified",
                    "verified_at": timezone.now() if persona.verified else None,
                    "verification_source": "demo",
                },
            )
        elif persona.kind == User.Kind.STAFF:
            Staff.objects.get_or_create(user=user, defaults={"function": persona.function})
        elif persona.kind == User.Kind.PATIENT:
            Patient.objects.get_or_create(
                user=user,
                defaults={
                    "ins": "285076911234576",
                    "birth_name": "BERNARD",
                    "birth_given_names": "Paula Marie",
                    "birth_date": dt.date(1985, 7, 14),
                    "sex": "F",
                    "birth_place_code": "69123",
                    "address": "12 rue des Tilleuls\n69003 Lyon",
                    "identity_status": Patient.IdentityStatus.QUALIFIEE,
                },
            )
        if persona.kind != User.Kind.PATIENT:
            Membership.objects.get_or_create(
                user=user,
                structure=structure,
                defaults={"role": persona.role, "security_officer": persona.security_officer},
            )
        if with_mfa and user.mfa_mandatory and not Authenticator.objects.filter(user=user, type="totp").exists():
            TOTP.activate(user, DEMO_TOTP_SECRET)
    sam = users["sam"].staff
    sam.acts_for.add(users["alice"].professional)
    users["alice"].modules = modules.module_keys()
    users["alice"].save(update_fields=["modules"])
    return users
