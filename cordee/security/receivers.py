"""The security app listens to what the apps below it do (they do not import it)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from cordee.care.signals import break_glass_opened
from cordee.security.services import do_raise_break_glass_alerts


@receiver(break_glass_opened, dispatch_uid="security.break_glass_opened")
def alert_on_break_glass(sender: Any, *, grant: Any, request: Any = None, **kwargs: Any) -> None:
    do_raise_break_glass_alerts(grant, request=request)
