"""The directory of professionals a request can be sent to: active, verified professionals,
found by name, specialty, RPPS, or the city or postcode of a structure they belong to."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from cordee.accounts.models import Membership, Professional, User
from cordee.lib.ids import parse_id

MAX_RESULTS = 20


def verified_professionals() -> QuerySet[User]:
    return User.objects.filter(
        is_active=True, kind=User.Kind.PROFESSIONAL, professional__verification=Professional.Verification.VERIFIED
    ).select_related("professional")


def _in_structure(**where: str) -> Exists:
    return Exists(Membership.objects.filter(user_id=OuterRef("pk"), **where))


def search(text: str, *, specialty: str = "") -> list[User]:
    """Up to ``MAX_RESULTS`` verified professionals matching every word: a name, a specialty or the
    city of one of their structures; digits are the start of an RPPS number or of a postcode."""
    text = " ".join(str(text or "").split())[:100]
    found = verified_professionals()
    if specialty:
        found = found.filter(professional__specialty__icontains=specialty[:120])
    for word in text.split():
        if word.isdigit():
            found = found.filter(
                Q(professional__rpps__startswith=word)
                | (_in_structure(structure__postcode__startswith=word) if len(word) <= 5 else Q(pk__in=[]))
            )
        else:
            found = found.filter(
                Q(last_name__icontains=word)
                | Q(first_name__icontains=word)
                | Q(professional__specialty__icontains=word)
                | _in_structure(structure__city__icontains=word)
            )
    if not text and not specialty:
        return []
    found = found.prefetch_related("memberships__structure").order_by("last_name", "first_name", "pk")
    results = list(found[:MAX_RESULTS])
    shown: Any
    for shown in results:  # where they work, to tell two namesakes apart (read by the template)
        cities = {membership.structure.city for membership in shown.memberships.all()}
        shown.directory_cities = ", ".join(sorted(city for city in cities if city))
    return results


def verified_professional(raw_id: Any) -> User | None:
    """The verified professional of this id, else None (unknown, unverified, inactive, junk)."""
    try:
        pk = parse_id(raw_id)
    except Exception:  # Http404 for junk: "unknown" here
        return None
    return verified_professionals().filter(pk=pk).first()
