"""``manage.py audit verify|checkpoint|export-checkpoints|public-key|rotate-signing-key|purge``: the audit
trail's tools.

``verify`` exits 0 when the trail verifies, 1 when it does not (the problems are listed), and with
``--strict`` 3 when it verifies but its tail is exposed (no checkpoint, or a stale one).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Max
from django.utils import timezone

from cordee.audit import checkpoints, copies, exports, keyring, retention, rotation, signing
from cordee.audit.models import AuditEntry
from cordee.audit.verify import MAX_PROBLEMS, verify_chain


class Command(BaseCommand):
    help = "Verify, seal, export and purge the tamper-evident audit trail."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, parser_class=CommandParser)
        verify = commands.add_parser("verify", help="walk the chain, check every hash, checkpoint and purge")
        verify.add_argument(
            "--checkpoints",
            dest="exported_file",
            metavar="FILE",
            help="also check the chain against exported checkpoints (a third party's JSON-lines copy)",
        )
        verify.add_argument("--chunk-size", type=int, default=2000, help="rows fetched per database round trip")
        verify.add_argument(
            "--strict",
            action="store_true",
            help="also fail (exit code 3) on warnings: no checkpoint, or entries unsealed for too long",
        )
        checkpoint = commands.add_parser("checkpoint", help="sign a checkpoint of the chain's head")
        checkpoint.add_argument(
            "--if-due",
            action="store_true",
            help="only if AUDIT_CHECKPOINT_SECONDS have passed or AUDIT_CHECKPOINT_EVERY entries were added",
        )
        export = commands.add_parser("export-checkpoints", help="write every checkpoint and purge record as JSON lines")
        export.add_argument("--out", required=True, metavar="FILE", help="output file, or - for standard output")
        commands.add_parser(
            "public-key", help="print the public key that checks the signatures (PEM), its id, and the retired keys"
        )
        commands.add_parser(
            "rotate-signing-key",
            help="retire the signing key for a new one (the old public key joins the key ring), audited and sealed",
        )
        purge = commands.add_parser("purge", help="apply the two retention periods, keeping the chain verifiable")
        purge.add_argument("--dry-run", action="store_true", help="only count what would be purged")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, "_" + options["subcommand"].replace("-", "_"))
        handler(**options)

    def _verify(self, *, exported_file: str | None, chunk_size: int, strict: bool, **_: Any) -> None:
        exported = []
        if exported_file:
            try:
                with open(exported_file, encoding="utf-8") as lines:
                    exported = exports.read_exported_checkpoints(lines, Path(exported_file).name)
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read the exported checkpoints: {exc}") from None
        copy, copied = copies.configured(), None
        if copy is not None:  # the second copy is always checked when there is one
            try:
                copied = copy.read()
            except copies.CopyError as exc:
                raise CommandError(f"cannot read the checkpoint copy (AUDIT_CHECKPOINT_COPY): {exc}") from None
        result = verify_chain(exported=exported, copied=copied, chunk_size=max(chunk_size, 1))
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning.message}")
        if result.ok:
            self.stdout.write(result.summary())
            if strict and result.warnings:
                raise CommandError(f"--strict: {len(result.warnings)} warning(s), see above", returncode=3)
            return
        for problem in result.problems:
            self.stderr.write(f"{problem.kind}: {problem.message}")
        if result.more_problems:
            self.stderr.write(f"… the list stops at {MAX_PROBLEMS} chain problems: there may be more")
        raise CommandError(result.summary(), returncode=1)

    def _checkpoint(self, *, if_due: bool, **_: Any) -> None:
        try:
            made = checkpoints.make_checkpoint(if_due=if_due)
        except checkpoints.ChainBroken as exc:
            raise CommandError(f"no checkpoint signed: the chain does not verify: {exc}", returncode=1) from None
        if made is None:
            self.stdout.write("No checkpoint needed: nothing new to seal" + (" or not yet due" if if_due else ""))
        else:
            self.stdout.write(f"Checkpoint signed: entry #{made.seq} ({made.entry_count} new entries)")

    def _export_checkpoints(self, *, out: str, **_: Any) -> None:
        lines = (json.dumps(line, sort_keys=True) + "\n" for line in exports.export_lines())
        if out == "-":
            sys.stdout.writelines(lines)
            return
        count = 0
        with open(out, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line)
                count += 1
        self.stdout.write(f"{count} signed records written to {out}")

    def _public_key(self, **_: Any) -> None:
        self.stdout.write(signing.public_key_pem().rstrip("\n"))
        self.stdout.write(f"key id (SHA-256 of the raw public key): {signing.key_id()}")
        try:
            retired = keyring.load().retired
        except keyring.RingError as exc:
            raise CommandError(f"the key ring is not sound: {exc}", returncode=1) from None
        for key in retired:
            self.stdout.write(
                f"retired key id {key.key_id}: in service until {key.retired_at:%Y-%m-%dT%H:%M:%S%z}, "
                f"then {keyring.short(key.successor_key_id)}"
            )

    def _rotate_signing_key(self, **_: Any) -> None:
        try:
            done = rotation.rotate()
        except rotation.RotationRefused as exc:
            raise CommandError(str(exc), returncode=1) from None
        self.stdout.write(
            f"Audit signing key rotated: {keyring.short(done.old_key_id)} retired "
            f"({done.retired_keys} key(s) in the ring, {keyring.ring_path()}), new key id {done.new_key_id}"
        )
        if done.chain_problem:
            self.stderr.write(f"warning: no checkpoint signed, the chain does not verify: {done.chain_problem}")
        else:
            self.stdout.write(f"Checkpoints: #{done.sealed_before} (old key), #{done.sealed_after} (new key)")
        self.stdout.write(done.public_key_pem.rstrip("\n"))
        self.stdout.write(
            "Give this public key to the party that keeps the exported checkpoints, and make a new key escrow "
            "(manage.py escrow_keys export): the earlier ones hold the retired private key."
        )

    def _purge(self, *, dry_run: bool, **_: Any) -> None:
        if dry_run:
            up_to = AuditEntry.objects.aggregate(last=Max("seq"))["last"] or 0
            count = retention.expired(retention.Cutoffs.at(timezone.now()), up_to).count()
            self.stdout.write(f"{count} entries are past their retention period (dry run: nothing purged)")
            return
        try:
            purge = retention.purge()
        except retention.PurgeRefused as exc:
            raise CommandError(str(exc), returncode=1) from None
        self.stdout.write(
            f"Purged: {purge.tombstoned} entries blanked, {purge.deleted} deleted, "
            f"chain anchored at #{purge.anchor_seq}"
            if purge.anchor_seq is not None
            else f"Purged: {purge.tombstoned} entries blanked, none deleted"
        )
