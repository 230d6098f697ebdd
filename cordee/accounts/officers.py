"""Who reviews whom: the security officers of a user's structures (read-only queries)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cordee.accounts.models import Membership


def reviewing_officers(user: Any) -> QuerySet[Membership]:
    """The other active security officers of ``user``'s structures: those who review their
    emergency accesses (an officer never reviews their own)."""
    structures = Membership.objects.filter(user=user).values("structure_id")
    return Membership.objects.filter(structure_id__in=structures, security_officer=True, user__is_active=True).exclude(
        user=user
    )
