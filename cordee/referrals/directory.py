"""The directory of professionals a request can be sent to: active, verified professionals,
found by name, specialty or RPPS (the accounts app holds no address yet: no city)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from cordee.accounts.models import Professional, User
from cordee.lib.ids import parse_id

MAX_RESULTS = 20


def verified_professionals() -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, kind=User.Kind.PROFESSIONAL, professional__verification=Professional.Verification.VERIFIED
    ).select_related("professional")


def search(text: str, *, specialty: str = "") -> list[User]:
    """Up to ``MAX_RESULTS`` verified professionals whose name, specialty or RPPS match."""
    text = " ".join(str(text or "").split())[:100]
    found = verified_professionals()
    if specialty:
        found = found.filter(professional__specialty__icontains=specialty[:120])
    for word in text.split():
        if word.isdigit():
            found = found.filter(professional__rpps__startswith=word)
        else:
            found = found.filter(
                Q(last_name__icontains=word)
                | Q(first_name__icontains=word)
                | Q(professional__specialty__icontains=word)
            )
    if not text and not specialty:
        return []
    return list(found.order_by("last_name", "first_name", "pk")[:MAX_RESULTS])


def verified_professional(raw_id: Any) -> User | None:
    """The verified professional of this id, else None (unknown, unverified, inactive, junk)."""
    try:
        pk = parse_id(raw_id)
    except Exception:  # Http404 for junk: "unknown" here
        return None
    return verified_professionals().filter(pk=pk).first()
