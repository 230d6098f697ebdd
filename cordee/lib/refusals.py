"""The one answer to a refused access: audit the refusal, then the 404 a missing object gets.

A forged id, another team's object and an object that does not exist are answered the same way
(``Http404``), and the refusal is written to the audit trail as a security entry naming what was
asked for (type, the raw id as given, the purpose) — never whether it exists.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.http import Http404, HttpRequest

from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.lib.users import is_active_user

REFUSED = "access.refused"


def refuse(
    user: Any,
    *,
    target_type: str,
    raw_id: Any,
    purpose: str,
    request: HttpRequest | None = None,
    action: str = REFUSED,
) -> NoReturn:
    """Audit the refusal (for a signed-in user: anonymous probes are the login's business), then 404."""
    if is_active_user(user):
        audit.record(
            action,
            actor=user,
            request=request,
            target_type=target_type,
            target_id=str(raw_id)[:64],
            purpose=purpose,
            outcome=AuditEntry.Outcome.DENIED,
        )
    raise Http404
