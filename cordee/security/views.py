"""The security officer's alert queue and reviews."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cordee.audit import services as audit
from cordee.lib.http import AuthedRequest
from cordee.security import services
from cordee.security.access import (
    EVIDENCE_SHOWN,
    access_alert,
    alert_evidence,
    alerts_for,
    is_operator,
    is_security_officer,
    may_handle,
)
from cordee.security.models import Alert
from cordee.security.services import detections

ALERTS_PER_PAGE = 25


def _queue(request: AuthedRequest, *, failed: dict | None = None, status: int = 200) -> HttpResponse:
    page = Paginator(alerts_for(request.user), ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    audit.record(
        "security.alerts_viewed",
        request=request,
        details={"alerts": [alert.pk for alert in page.object_list]},
    )
    context = {"page": page, "failed": failed or {}}
    return render(request, "security/alerts.html", context, status=status)


@login_required
@require_GET
def alerts(request: AuthedRequest) -> HttpResponse:
    if not (is_security_officer(request.user) or is_operator(request.user)):
        raise Http404
    return _queue(request)


@login_required
@require_POST
@reauthentication_required
def review(request: AuthedRequest, alert_id: str) -> HttpResponse:
    alert = access_alert(request.user, alert_id, purpose="security.alert_review", request=request)
    verdict, comment = request.POST.get("verdict", ""), request.POST.get("comment", "")
    try:
        services.do_review_alert(alert, verdict, comment, by=request.user, request=request)
    except ValidationError as exc:
        # Shown again with what the officer typed, so that nothing is lost.
        failed = {"alert": alert.pk, "verdict": verdict, "comment": comment, "errors": exc.messages}
        if alert.is_detection:
            return _alert_page(request, alert, failed=failed, status=400)
        return _queue(request, failed=failed, status=400)
    messages.success(request, _("Review saved."))
    if alert.is_detection:
        return redirect("security:alert", alert.pk)
    return redirect("security:alerts")


VIEW = "security.alert_view"


def _alert_page(request: AuthedRequest, alert: Alert, *, failed: dict | None = None, status: int = 200) -> HttpResponse:
    audit.record("security.alert_viewed", request=request, target=alert, purpose=VIEW, details={"kind": alert.kind})
    context = {
        "alert": alert,
        "evidence": alert_evidence(alert),
        "shown": min(len(alert.evidence), EVIDENCE_SHOWN),
        "failed": failed or {},
        "may_act": may_handle(request.user, alert),
        "lock_hours": settings.DETECT_LOCK_HOURS,
        "responses": [
            {**response, "at": parse_datetime(response["at"]), "until": parse_datetime(response.get("until") or "")}
            for response in alert.responses
        ],
    }
    return render(request, "security/alert.html", context, status=status)


@login_required
@require_GET
def alert(request: AuthedRequest, alert_id: str) -> HttpResponse:
    found = access_alert(request.user, alert_id, purpose=VIEW, request=request)
    return _alert_page(request, found)


@login_required
@require_POST
@reauthentication_required
def acknowledge(request: AuthedRequest, alert_id: str) -> HttpResponse:
    found = access_alert(request.user, alert_id, purpose="security.alert_acknowledge", request=request)
    try:
        services.do_acknowledge_alert(found, by=request.user, request=request)
    except ValidationError as exc:
        return _alert_page(request, found, failed={"errors": exc.messages}, status=400)
    messages.success(request, _("Alert acknowledged."))
    return redirect("security:alert", found.pk)


@login_required
@require_POST
@reauthentication_required
def lock(request: AuthedRequest, alert_id: str) -> HttpResponse:
    found = access_alert(request.user, alert_id, purpose="security.alert_lock", request=request)
    try:
        ended = detections.do_lock_account(found, by=request.user, request=request)
    except ValidationError as exc:
        return _alert_page(request, found, failed={"errors": exc.messages}, status=400)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("Account locked; %(n)s session(s) ended.") % {"n": ended})
    return redirect("security:alert", found.pk)
