"""The billing export of tele-expertise: a CSV of one month's answered requests, for an
administrator of a structure (requests whose expert or requester is a member of it).

One line per answered request: its number, the patient's Cordée number (no name: the billing
software identifies the patient from its own records), requester and expert (name, RPPS), dates,
and the act codes of the settings (``EXPERTISE_ACT_CODE_EXPERT`` / ``_REQUESTER``). The export is
re-authenticated and audited (a security entry: it names no patient).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from cordee.accounts.models import Membership, Structure, User
from cordee.audit import services as audit_trail
from cordee.expertise import purposes
from cordee.expertise.models import Expertise
from cordee.lib.http import AuthedRequest

HEADER = [
    "demande",
    "patient",
    "requerant",
    "requerant_rpps",
    "code_acte_requerant",
    "expert",
    "expert_rpps",
    "code_acte_expert",
    "envoyee_le",
    "acceptee_le",
    "repondue_le",
]


def administered(user: User) -> QuerySet[Structure]:
    return Structure.objects.filter(memberships__user=user, memberships__role=Membership.Role.ADMIN).order_by("name")


def month_bounds(raw: Any) -> tuple[dt.datetime, dt.datetime]:
    """``YYYY-MM`` → [first instant, first instant of the next month) in local time; junk: ValueError."""
    year, month = (int(part) for part in str(raw or "").split("-"))
    zone = timezone.get_current_timezone()
    start = dt.datetime(year, month, 1, tzinfo=zone)
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end


def rows(structure: Structure, start: dt.datetime, end: dt.datetime) -> QuerySet[Expertise]:
    members = Membership.objects.filter(structure=structure).values("user_id")
    return (
        Expertise.objects.filter(answered_at__gte=start, answered_at__lt=end)
        .filter(Q(expert_id__in=members) | Q(requester_id__in=members))
        .order_by("answered_at", "pk")
    )


def export_csv(user: User, structure: Structure, month: str, *, request: Any = None) -> str:
    start, end = month_bounds(month)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(HEADER)
    count = 0
    for e in rows(structure, start, end):
        count += 1
        writer.writerow(
            [
                e.pk,
                e.patient_id,
                e.requester_name,
                e.requester_display.get("rpps", ""),
                settings.EXPERTISE_ACT_CODE_REQUESTER,
                e.expert_name,
                e.expert_display.get("rpps", ""),
                settings.EXPERTISE_ACT_CODE_EXPERT,
                _iso(e.sent_at),
                _iso(e.accepted_at),
                _iso(e.answered_at),
            ]
        )
    audit_trail.record(
        purposes.BILLING_EXPORTED,
        actor=user,
        request=request,
        target=structure,
        purpose=purposes.BILLING,
        details={"month": month, "rows": count},
    )
    return out.getvalue()


def _iso(value: dt.datetime | None) -> str:
    return timezone.localtime(value).isoformat(timespec="minutes") if value else ""


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required
def export_view(request: AuthedRequest) -> HttpResponse:
    structures = list(administered(request.user))
    if not structures:
        raise Http404
    if request.method == "POST":
        structure = next((s for s in structures if str(s.pk) == request.POST.get("structure")), None)
        try:
            if structure is None:
                raise ValueError
            start, _end = month_bounds(request.POST.get("month", ""))
            text = export_csv(request.user, structure, f"{start:%Y-%m}", request=request)
        except ValueError:
            return render(request, "expertise/billing.html", {"structures": structures, "error": True}, status=400)
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="teleexpertise-{start:%Y-%m}.csv"'
        response["Cache-Control"] = "private, no-store"
        return response
    return render(request, "expertise/billing.html", {"structures": structures, "error": False})
