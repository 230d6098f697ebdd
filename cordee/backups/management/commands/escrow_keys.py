"""``manage.py escrow_keys export|unwrap``: the keys kept out of the backups, wrapped for an offline holder."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.backups import escrow


def _passphrase(options: dict[str, Any], *, confirm: bool) -> str:
    if options["passphrase_file"]:
        return Path(options["passphrase_file"]).read_text(encoding="utf-8").strip()
    if os.environ.get("ESCROW_PASSPHRASE"):
        return os.environ["ESCROW_PASSPHRASE"]
    first = getpass.getpass("Escrow passphrase: ")
    if confirm and getpass.getpass("Again: ") != first:
        raise CommandError("The two passphrases differ.")
    return first


class Command(BaseCommand):
    help = "Export the vault keyset, audit keys and shred list wrapped with a passphrase, or unwrap them."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, parser_class=CommandParser)
        export = commands.add_parser("export", help="write the wrapped keys to a file")
        export.add_argument("--out", required=True)
        export.add_argument("--passphrase-file")
        unwrap = commands.add_parser("unwrap", help="write the keys of an escrow file into a new directory")
        unwrap.add_argument("file")
        unwrap.add_argument("--out-dir", required=True)
        unwrap.add_argument("--passphrase-file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["subcommand"] == "export":
                document = escrow.wrap(_passphrase(options, confirm=True))
                out = Path(options["out"])
                fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(document)
                self.stdout.write(f"keys wrapped into {out}: keep it offline, the passphrase elsewhere")
            else:
                contents = escrow.unwrap(Path(options["file"]).read_bytes(), _passphrase(options, confirm=False))
                written = escrow.write_files(contents, Path(options["out_dir"]))
                self.stdout.write("written: " + ", ".join(str(path) for path in written))
        except (escrow.EscrowError, FileExistsError) as exc:
            raise CommandError(str(exc)) from None
