"""The web app's state changes: a browser's Web Push subscription, turned on and off (audited)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from cordee.audit import services as audit
from cordee.web import push
from cordee.web.devices import device_name
from cordee.web.models import PushSubscription


def check_subscription(data: Any) -> dict[str, str]:
    """The fields of a browser's ``PushSubscription.toJSON()``, validated."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise ValidationError(_("This browser's subscription could not be read."))
    endpoint = str(data.get("endpoint") or "")
    p256dh, auth = str(data["keys"].get("p256dh") or ""), str(data["keys"].get("auth") or "")
    if len(endpoint) > 1024 or not push.allowed_endpoint(endpoint):
        raise ValidationError(_("This browser's push service is not one Cordée sends to."))
    if len(push.b64url_bytes(p256dh)) != 65 or len(push.b64url_bytes(auth)) != 16:
        raise ValidationError(_("This browser's subscription could not be read."))
    return {"endpoint": endpoint, "p256dh": p256dh, "auth": auth}


def do_subscribe(user: Any, data: Any, *, request: HttpRequest | None = None) -> PushSubscription:
    fields = check_subscription(data)
    device = device_name(request.headers.get("User-Agent", "")) if request is not None else ""
    with transaction.atomic():
        # One browser, one user: a browser that someone else turned on before is theirs no longer.
        PushSubscription.objects.filter(endpoint=fields["endpoint"]).exclude(user=user).delete()
        subscription, _created = PushSubscription.objects.update_or_create(
            endpoint=fields["endpoint"],
            defaults={
                "user": user,
                "p256dh": fields["p256dh"],
                "auth": fields["auth"],
                "device": device[:120],
                "language": translation.get_language() or settings.LANGUAGE_CODE,
                "failures": 0,
            },
        )
        audit.record(
            "push.subscribed", actor=user, request=request, target=user, details={"subscription": subscription.pk}
        )
    push.forget_whether_in_use()
    return subscription


def do_unsubscribe(user: Any, endpoint: str, *, request: HttpRequest | None = None) -> bool:
    with transaction.atomic():
        found = list(PushSubscription.objects.filter(user=user, endpoint=endpoint).values_list("pk", flat=True))
        if not found:
            return False
        PushSubscription.objects.filter(pk__in=found).delete()
        audit.record("push.unsubscribed", actor=user, request=request, target=user, details={"subscription": found[0]})
    return True
