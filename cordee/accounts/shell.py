"""What accounts show in the shell (``cordee.lib.modules``): the structures, with the identities
that wait for a structure administrator's verification, and the account's security page in the
user menu; a professional whose identity is not verified yet is told so on the home page."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cordee.accounts.models import Membership, Professional
from cordee.lib import modules
from cordee.lib.prepared import Prepared


def _administered(user: Any) -> Any:
    return Membership.objects.filter(user=user, role=Membership.Role.ADMIN).values("structure_id")


def _unverified_members(user: Any) -> Any:
    return Membership.objects.filter(
        structure_id__in=_administered(user),
        user__is_active=True,
        user__professional__verification=Professional.Verification.UNVERIFIED,
    )


def _to_verify(user: Any) -> Any:
    """Professionals of the structures ``user`` administers whose identity waits for a check."""
    return _unverified_members(user).values("user_id").distinct()


def _describe(n: int) -> str:
    return ngettext("%(n)s identity to verify", "%(n)s identities to verify", n) % {"n": n}


def _to_verify_by_structure(user: Any) -> Any:
    fields = ("structure_id", "structure__name")
    return _unverified_members(user).values(*fields).annotate(n=Count("user_id", distinct=True)).order_by(*fields)


_TO_VERIFY = Prepared(_to_verify_by_structure)  # on the home page: compiled once per user (cordee.lib.prepared)


def home_card(request: HttpRequest) -> dict[str, Any] | None:
    user: Any = request.user
    professional = getattr(user, "professional", None) if user.kind == "professional" else None
    own = professional if professional is not None and not professional.is_verified else None
    columns = ("structure_id", "structure__name", "n")
    to_verify = [dict(zip(columns, row, strict=True)) for row in _TO_VERIFY.rows(user)]
    if own is None and not to_verify:
        return None
    return {"own": own, "to_verify": to_verify}


def register() -> None:
    modules.register(
        modules.Entry(
            key="structures",
            label=_("Structures"),
            url_name="accounts:structures",
            icon="building",
            kinds=modules.WORKFORCE,
            waiting=modules.Waiting(rows=_to_verify, describe=_describe),
            home=modules.HomeCard("accounts/_home.html", home_card),
            order=80,
        )
    )
    modules.register(
        modules.Entry(
            key="securite_compte",
            label=_("Security of my account"),
            url_name="accounts:security",
            icon="lock",
            menu="user",
            order=10,
        )
    )
    modules.register(
        modules.Entry(
            key="sessions",
            label=_("My sessions"),
            url_name="accounts:security",
            fragment="sessions",
            icon="devices",
            menu="user",
            order=20,
        )
    )
