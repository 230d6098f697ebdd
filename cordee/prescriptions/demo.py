"""The prescriptions' demo data: Phil, a verified pharmacist (RPPS profession 21) in his pharmacy.

Phil is not in Paula's care team: he reaches a prescription only by its number or QR code.
Seeded by ``cordee.demo.seed`` for the demo; the tests ask for him (``phil`` fixture).
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.db import transaction
from django.utils import timezone

from cordee.accounts.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from cordee.accounts.models import Membership, Professional, Structure, User
from cordee.lib import modules

PHIL_EMAIL = "phil@cordee.test"
PHIL_RPPS = "10000000033"


@transaction.atomic
def seed_pharmacist(users: dict[str, User], *, with_mfa: bool = True) -> User:
    pharmacy, _ = Structure.objects.get_or_create(
        name="Pharmacie des Tilleuls",
        defaults={
            "kind": Structure.Kind.PHARMACIE,
            "street": "14 rue des Tilleuls",
            "postcode": "69003",
            "city": "Lyon",
            "telephone": "04 72 00 00 01",
        },
    )
    phil = User.objects.filter(email=PHIL_EMAIL).first()
    if phil is None:
        phil = User.objects.create_user(
            PHIL_EMAIL,
            DEMO_PASSWORD,
            first_name="Phil",
            last_name="Moreau",
            kind=User.Kind.PROFESSIONAL,
            modules=modules.default_modules(User.Kind.PROFESSIONAL),
        )
    EmailAddress.objects.get_or_create(user=phil, email=phil.email, defaults={"verified": True, "primary": True})
    Professional.objects.get_or_create(
        user=phil,
        defaults={
            "rpps": PHIL_RPPS,
            "profession_code": "21",
            "specialty": "Pharmacie d'officine",
            "verification": Professional.Verification.VERIFIED,
            "verified_at": timezone.now(),
            "verification_source": "demo",
        },
    )
    Membership.objects.get_or_create(user=phil, structure=pharmacy)
    if with_mfa and not Authenticator.objects.filter(user=phil, type="totp").exists():
        TOTP.activate(phil, DEMO_TOTP_SECRET)
    users["phil"] = phil
    return phil
