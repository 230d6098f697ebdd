"""What security shows in the shell (``cordee.lib.modules``): the officers' alert queue, with the
count of alerts to review and a home card listing the latest of them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cordee.lib import modules
from cordee.security.access import is_security_officer, keeps_a_register, notices_of, officer_memberships
from cordee.security.models import Alert

HOME_LIMIT = 5
NOTICE_ENTRY = "avis-securite"  # as services.notices.NOTICE_ENTRY (the push names it)


def alerts_to_review(user: Any) -> Any:
    """Alerts of the officer's structures not reviewed yet."""
    return Alert.objects.filter(
        structure_id__in=officer_memberships(user).values("structure_id"), reviewed_at__isnull=True
    )


def _describe(n: int) -> str:
    return ngettext("%(n)s alert to review", "%(n)s alerts to review", n) % {"n": n}


def home_card(request: HttpRequest) -> dict[str, Any] | None:
    alerts = list(alerts_to_review(request.user).order_by("-created_at", "-pk")[:HOME_LIMIT])
    return {"alerts": alerts} if alerts else None


def has_notices(user: Any) -> bool:
    return notices_of(user).exists()


def notices_card(request: HttpRequest) -> dict[str, Any] | None:
    count = notices_of(request.user).count()
    return {"count": count} if count else None


def register() -> None:
    modules.register(
        modules.Entry(
            key="alertes",
            label=_("Security alerts"),
            url_name="security:alerts",
            icon="shield",
            kinds=modules.WORKFORCE,
            applies=is_security_officer,
            waiting=modules.Waiting(rows=alerts_to_review, describe=_describe),
            home=modules.HomeCard("security/_home.html", home_card),
            order=60,
            push_text=_("A security alert is waiting for review."),
        )
    )
    modules.register(
        modules.Entry(
            key="incidents",
            label=_("Breach register"),
            url_name="security:incidents",
            icon="shield",
            kinds=modules.WORKFORCE,
            applies=keeps_a_register,
            order=61,
        )
    )
    modules.register(
        modules.Entry(
            key=NOTICE_ENTRY,
            label=_("Data breach information"),
            url_name="security:my_notices",
            icon="shield",
            kinds=frozenset({modules.PATIENT}),
            applies=has_notices,
            home=modules.HomeCard("security/_home_notices.html", notices_card),
            order=65,
            push_text=_("You have new information in Cordée."),
        )
    )
    modules.register_purposes(
        {
            "security.breach_notice": _("Sent you information about a personal data breach"),
            "security.notice_view": _("Opened the information about a personal data breach concerning you"),
        }
    )
