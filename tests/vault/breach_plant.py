"""Run in a fresh interpreter by test_breach.py: migrate a file-based SQLite database, plant the
canaries through the services, shred a second patient, print what was read back, and stop without
closing the database (the WAL stays as a crash would leave it). A copy of the database files is
taken before the shred, as a thief copying a live server would get it."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from cordee import demo as cordee_demo
    from cordee.accounts import services
    from cordee.vault import services as vault
    from cordee.vault.models import DataKey
    from tests.vault import canaries

    call_command("migrate", verbosity=0)
    users = cordee_demo.seed(with_mfa=False)
    registrar = users["alice"]
    result = canaries.plant(users)
    erased = services.do_register_patient(
        by=registrar,
        birth_name="EFFACE",
        birth_given_names="Eve",
        birth_date=canaries.BIRTH_DATE,
        sex="F",
        birth_place_code="75112",
    )
    wrapped = DataKey.objects.get(owner_id=str(erased.vault_id))
    result["erased_keys"] = [bytes(wrapped.wrapped_aead).hex(), bytes(wrapped.wrapped_streaming).hex()]
    snapshot = Path(sys.argv[1])  # a copy taken while running, WAL included, as a thief could make
    snapshot.mkdir()
    for suffix in ("", "-wal"):
        source = Path(connection.settings_dict["NAME"] + suffix)
        if source.exists():
            shutil.copyfile(source, snapshot / source.name)
    vault.do_shred(erased, by=registrar, reason="breach test")  # its scrub runs on commit
    result["database"] = connection.settings_dict["NAME"]
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
