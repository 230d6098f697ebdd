"""``manage.py restore``: a backup into an empty directory (and empty PostgreSQL database), then its checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.backups import restic
from cordee.backups import restore as restoring


class Command(BaseCommand):
    help = "Restore a backup into an empty target and check it (migrations, counts, audit verify, decryption)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", help="an empty (or new) data directory")
        parser.add_argument("--repository", help="restic repository (default: BACKUP_REPOSITORY)")
        parser.add_argument("--snapshot", default="latest", help="snapshot id (default: the latest)")
        parser.add_argument("--database-url", help="an EMPTY PostgreSQL database, for a PostgreSQL backup")
        parser.add_argument(
            "--keys-dir",
            help="directory with vault-kek.json, audit-ed25519.pem, audit-mac.key (unwrapped escrow); default: "
            "the keys this installation uses",
        )
        parser.add_argument(
            "--shred-list",
            help="the shred list (default: shredded.jsonl of --keys-dir if there, else this installation's)",
        )
        parser.add_argument("--sample", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        target = Path(options["target"])
        try:
            repository = restic.Repository.configured(options["repository"])
            restoring.restore(repository, target, snapshot_id=options["snapshot"], database_url=options["database_url"])
        except (restic.ResticError, restoring.RestoreError) as exc:
            raise CommandError(str(exc)) from None
        keys = restoring.Keys.from_dir(Path(options["keys_dir"])) if options["keys_dir"] else restoring.Keys.live()
        shred_list = Path(options["shred_list"]) if options["shred_list"] else None
        if shred_list is None and options["keys_dir"] and (Path(options["keys_dir"]) / "shredded.jsonl").exists():
            shred_list = Path(options["keys_dir"]) / "shredded.jsonl"  # the escrowed one, on a new machine
        report = restoring.run_checks(
            target, keys, database_url=options["database_url"], shred_list=shred_list, sample=options["sample"]
        )
        self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
        if not report.get("ok"):
            self.stderr.write("restore checks FAILED: " + "; ".join(report.get("failures", [])))
            sys.exit(1)
