"""``manage.py dicomweb_sender``: the systems allowed to push studies over STOW-RS.

manage.py dicomweb_sender add --structure 3 PACS-RADIO   # prints the token, once
manage.py dicomweb_sender list
manage.py dicomweb_sender revoke PACS-RADIO
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.accounts.models import Structure
from cordee.imaging.models import Sender
from cordee.imaging.services import senders


class Command(BaseCommand):
    help = "Add, list or revoke the systems (PACS, modality gateways) that push studies over STOW-RS."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="a new sender; its token is printed once")
        add.add_argument("name", help="1 to 16 ASCII characters, shown like an AE title")
        add.add_argument("--structure", type=int, required=True, help="the structure whose inbox receives its studies")
        actions.add_parser("list", help="the senders, without their tokens")
        revoke = actions.add_parser("revoke", help="the token stops working at once")
        revoke.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "add":
            structure = Structure.objects.filter(pk=options["structure"]).first()
            if structure is None:
                raise CommandError(f"No structure {options['structure']}.")
            try:
                sender, token = senders.do_add_sender(structure, options["name"])
            except ValueError as refusal:
                raise CommandError(str(refusal)) from None
            self.stdout.write(f"Sender {sender.name} for {structure}. Its token, shown only now:\n{token}")
            self.stdout.write("The system sends it as: Authorization: Bearer <token>  (POST /dicomweb/studies)")
        elif options["action"] == "list":
            for sender in Sender.objects.select_related("structure").order_by("name"):
                state = f"revoked {sender.revoked_at:%Y-%m-%d %H:%M}" if sender.revoked_at else "active"
                used = f"last used {sender.last_used_at:%Y-%m-%d %H:%M}" if sender.last_used_at else "never used"
                self.stdout.write(f"{sender.name}\t{sender.structure}\t{state}\t{used}")
        else:
            try:
                senders.do_revoke_sender(options["name"])
            except Sender.DoesNotExist:
                raise CommandError(f"No active sender named {options['name']!r}.") from None
            self.stdout.write(f"Sender {options['name']} revoked.")
