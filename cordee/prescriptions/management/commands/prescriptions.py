"""``manage.py prescriptions public-key``: the key a pharmacy needs to verify a QR with no network."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cordee.prescriptions import signatures


class Command(BaseCommand):
    help = "Prescriptions: print the public key that verifies the prescriptions' QR codes (public-key)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["public-key"])

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(signatures.public_key_pem().rstrip("\n"))
