"""A dispenser in its own process (spawned, not forked: a forked child would share the parent's
database socket). It opens its own connection to the test database, waits for the start signal,
dispenses, and reports its outcome."""

from __future__ import annotations

import os
from typing import Any


def dispense(database: dict[str, Any], number: str, phil_id: int, line_id: int, start: Any, results: Any) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    import django  # here, in the spawned child: Django starts once the test database is named
    from django.conf import settings

    settings.DATABASES["default"].update(database)
    django.setup()
    from cordee.accounts.models import User
    from cordee.prescriptions.services.dispensing import Dispensing, do_dispense
    from cordee.prescriptions.services.errors import PrescriptionError

    phil = User.objects.get(pk=phil_id)
    start.wait()
    try:
        do_dispense(phil, number, Dispensing(line_id, 2))
        results.put("ok")
    except PrescriptionError as error:
        results.put(error.code)
    except Exception as error:  # noqa: BLE001  (reported to the test, which fails on it)
        results.put(f"error: {error!r}")
