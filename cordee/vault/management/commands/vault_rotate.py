"""``manage.py vault_rotate [--retire-old]``: rotate the key-encryption key (KEK).

1. A new AES256-GCM key is added to the keyset file and made primary (old keys stay, to unwrap).
2. Every live data key is re-wrapped with it (in batches, one transaction each).
3. With ``--retire-old``: re-wrap once more (catches keys created meanwhile by a process that still
   had the old file), check that every data key unwraps with the new key alone, then remove the old
   KEK keys from the file. Backups taken before the rotation then need the old keyset to be read.

Each phase is audited (``vault.kek_rotated``, ``vault.kek_retired``). The file is replaced
atomically; running processes notice the change and reload it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.audit import services as audit
from cordee.vault import keyset, services


class Command(BaseCommand):
    help = "Add a new primary key-encryption key to the vault keyset and re-wrap every data key with it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--retire-old",
            action="store_true",
            help="then remove the older KEK keys from the keyset file (after checking nothing needs them)",
        )

    def handle(self, *args: Any, retire_old: bool = False, **options: Any) -> None:
        path = Path(settings.VAULT_KEYSET_PATH)
        rotated = keyset.with_new_primary(keyset.load(path))
        keyset.replace(path, rotated)
        count = services.rewrap_all(rotated)
        audit.record(
            "vault.kek_rotated",
            details={"new_key_id": rotated.primary_kek_id, "kek_keys": len(rotated.kek_ids), "rewrapped": count},
        )
        self.stdout.write(f"New primary KEK key {rotated.primary_kek_id}; {count} data keys re-wrapped.\n")
        if retire_old:
            self._retire(path, rotated)

    def _retire(self, path: Path, rotated: keyset.VaultKeyset) -> None:
        services.rewrap_all(rotated)
        retired = keyset.without_old_keys(rotated)
        failing = services.unreadable_with(retired)
        if failing:
            raise CommandError(
                f"{len(failing)} data keys (ids {failing[:10]}) would not unwrap without the old KEK keys; "
                "nothing was retired. Run vault_rotate again."
            )
        old_ids = [key_id for key_id in rotated.kek_ids if key_id != retired.primary_kek_id]
        keyset.replace(path, retired)
        audit.record("vault.kek_retired", details={"retired_key_ids": old_ids, "kept_key_id": retired.primary_kek_id})
        self.stdout.write(f"Retired the KEK keys {old_ids}; only {retired.primary_kek_id} remains.\n")
