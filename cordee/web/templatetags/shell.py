"""Template filters of the shell."""

from __future__ import annotations

from django import template

from cordee.web.devices import device_name as _device_name

register = template.Library()


@register.filter
def device_name(user_agent: str | None) -> str:
    """A device name (such as "Firefox 128 on Windows") for a User-Agent string."""
    return _device_name(user_agent or "")
