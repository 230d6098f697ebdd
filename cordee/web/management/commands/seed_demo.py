from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cordee import demo
from cordee.accounts.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, PERSONAS
from cordee.prescriptions.demo import PHIL_EMAIL


class Command(BaseCommand):
    help = "Create the demo structure and personas (idempotent) and print how to sign in."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            # The demo accounts share a published password and TOTP secret: never on a real server.
            raise CommandError("seed_demo creates accounts with public credentials: it runs only with DEBUG=1")
        demo.seed(with_documents=True)
        out = self.stdout
        out.write(self.style.SUCCESS("Cordée demo data is ready.") + "\n")
        out.write(f"Password of every demo account: {DEMO_PASSWORD}\n")
        for persona in PERSONAS:
            out.write(f"  {persona.email:<22} {persona.first_name} {persona.last_name}: {persona.note}\n")
        out.write(f"  {PHIL_EMAIL:<22} Phil Moreau: pharmacist at Pharmacie des Tilleuls (dispenses prescriptions)\n")
        out.write(
            "Second factor (professionals and staff): enter the 6-digit code of the demo TOTP secret\n"
            f"  {DEMO_TOTP_SECRET}\n"
            "  in any authenticator app, or print the current code with:  make totp\n"
        )
