"""``manage.py check --deploy``: the signing CA and the QR key must exist and be readable."""

from __future__ import annotations

from typing import Any

from django.core import checks

from cordee.signing import keys
from cordee.signing.errors import SigningKeyError


@checks.register(checks.Tags.security, deploy=True)
def signing_keys_present(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    problems: list[checks.CheckMessage] = []
    for load, check_id in ((keys.current_ca, "signing.E001"), (keys.qr_private_key, "signing.E002")):
        try:
            load()
        except SigningKeyError as exc:
            problems.append(checks.Error(str(exc), id=check_id))
    return problems
