"""``manage.py signing create-ca|create-qr-key|public-key|ca-certificate``: the deployment's signing keys.

``create-ca`` and ``create-qr-key`` write a new key file where the settings point (never over an
existing one); they run without the system checks, so a new installation (DEBUG off, no keys yet)
can make its keys before its first start. ``public-key`` prints the QR key's public key (PEM) that
a pharmacy uses to verify printed QR codes offline; ``ca-certificate`` prints the CA certificate.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.signing import keys, qr
from cordee.signing.errors import SigningKeyError


class Command(BaseCommand):
    help = "Create and show the deployment's signing keys (the professionals' CA and the QR key)."
    requires_system_checks: list[str] = []  # type: ignore[assignment]  # Django's own way to run before any key exists

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, parser_class=CommandParser)
        create_ca = commands.add_parser("create-ca", help="create the CA that issues professionals' certificates")
        create_ca.add_argument("--organization", default=None, help="the CA's organisation name (SIGNING_ORGANIZATION)")
        commands.add_parser("create-qr-key", help="create the Ed25519 key that signs QR payloads")
        commands.add_parser("public-key", help="print the QR key's public key (PEM) and its key id")
        commands.add_parser("ca-certificate", help="print the CA certificate (PEM) and its SHA-256 fingerprint")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["subcommand"].replace("-", "_"))(**options)
        except SigningKeyError as exc:
            raise CommandError(str(exc)) from None

    def _create_ca(self, *, organization: str | None, **_: Any) -> None:
        path = keys.ca_path()
        ca = keys.create_ca(path, organization or settings.SIGNING_ORGANIZATION)
        if ca is None:
            raise CommandError(f"{path} already exists: a CA is never overwritten (docs/signing.md, rotation).")
        self.stdout.write(
            f"Created the signing CA {path} (mode 0600), SHA-256 {ca.fingerprint}.\n"
            "Back it up apart from the database backups; set SIGNING_CA_FILE to it if it is not the default path."
        )

    def _create_qr_key(self, **_: Any) -> None:
        path = keys.qr_key_path()
        if not keys.create_qr_key(path):
            raise CommandError(f"{path} already exists: a key is never overwritten (docs/signing.md, rotation).")
        self.stdout.write(f"Created the QR signing key {path} (mode 0600), key id {keys.qr_key_id().hex()}.")

    def _public_key(self, **_: Any) -> None:
        self.stdout.write(qr.public_key_pem(), ending="")
        self.stdout.write(f"# key id (COSE kid): {keys.qr_key_id().hex()}")

    def _ca_certificate(self, **_: Any) -> None:
        ca = keys.current_ca()
        self.stdout.write(ca.certificate_pem(), ending="")
        self.stdout.write(f"# SHA-256: {ca.fingerprint}")
