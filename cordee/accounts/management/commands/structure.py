"""The platform operator's command for structures (Cordée has no Django admin).

``manage.py structure create --name "Cabinet du Parc" --kind cabinet --admin-email a@example.fr
[--finess 123456789] [--siret 12345678900012] [--street "1 rue du Parc" --postcode 69001 --city Lyon]
[--telephone "04 12 34 56 78"]`` creates the structure, invites its first
administrator (the invitation is e-mailed and its link printed) and audits both.
``manage.py structure contact --id 3 --street … --postcode … --city … --telephone …`` sets (all
four, audited) the address and telephone its prescribers' prescriptions print (CSP R.5132-3). Everything else
(members, roles, security officers, identity verification) is done by that administrator in
Cordée, through the audited services.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.accounts.models import Structure
from cordee.accounts.services import do_create_structure, do_set_structure_contact


class Command(BaseCommand):
    help = "Create a structure and invite its first administrator (platform operator)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a structure and invite its first administrator")
        create.add_argument("--name", required=True)
        create.add_argument("--kind", required=True, choices=Structure.Kind.values)
        create.add_argument("--admin-email", required=True)
        create.add_argument("--finess", default="")
        create.add_argument("--siret", default="")
        create.add_argument("--street", default="", help="printed on prescriptions")
        create.add_argument("--postcode", default="", help="5 digits")
        create.add_argument("--city", default="")
        create.add_argument("--telephone", default="", help="a French number, printed on prescriptions")
        contact = sub.add_parser("contact", help="set the address and telephone printed on prescriptions")
        contact.add_argument("--id", required=True, type=int)
        for name in ("street", "postcode", "city", "telephone"):
            contact.add_argument(f"--{name}", required=True)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "contact":
            self._contact(**options)
            return
        try:
            structure, invitation, link = do_create_structure(
                name=options["name"],
                kind=options["kind"],
                finess=options["finess"],
                siret=options["siret"],
                street=options["street"],
                postcode=options["postcode"],
                city=options["city"],
                telephone=options["telephone"],
                admin_email=options["admin_email"],
                operator=f"manage.py structure ({getpass.getuser()})",
            )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            raise CommandError(f"the structure was not created: {problems}") from None
        self.stdout.write(f"structure #{structure.pk} {structure.name} created")
        self.stdout.write(f"invitation of its first administrator sent to {invitation.email}; its link:")
        self.stdout.write(link)

    def _contact(self, **options: Any) -> None:
        structure = Structure.objects.filter(pk=options["id"]).first()
        if structure is None:
            raise CommandError(f"no structure #{options['id']}")
        try:
            do_set_structure_contact(
                structure,
                street=options["street"],
                postcode=options["postcode"],
                city=options["city"],
                telephone=options["telephone"],
                operator=f"manage.py structure ({getpass.getuser()})",
            )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            raise CommandError(f"the structure was not changed: {problems}") from None
        self.stdout.write(f"structure #{structure.pk}: {', '.join(structure.address_lines)}, {structure.telephone}")
