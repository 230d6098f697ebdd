"""A device's name from its browser's User-Agent string ("Firefox 128 on Windows"), with the
``ua-parser`` rules (maintained by the ua-parser project), for the sessions list and the browsers
that receive notifications. The raw string stays stored; only its reading changes."""

from __future__ import annotations

import functools

from django.utils.translation import gettext as _
from ua_parser import parse

_GENERIC = {"Other", "Generic Smartphone", "Generic Feature Phone", "Generic Tablet", "Spider"}


@functools.lru_cache(maxsize=512)
def _parts(user_agent: str) -> tuple[str, str, str]:
    result = parse(user_agent[:1000])
    browser = os_name = device = ""
    if result.user_agent is not None and result.user_agent.family not in _GENERIC:
        browser = " ".join(filter(None, [result.user_agent.family, result.user_agent.major]))
    if result.os is not None and result.os.family not in _GENERIC:
        os_name = " ".join(filter(None, [result.os.family, result.os.major]))
        if result.os.family == "Mac OS X":
            os_name = "macOS"  # its version numbers say little (Safari freezes them at 10.15.7)
    if result.device is not None and result.device.family not in _GENERIC:
        device = result.device.family
        if device in {"Mac", "K"}:  # what ua-parser calls a desktop, already said by the OS
            device = ""
    return browser, os_name, device


def device_name(user_agent: str) -> str:
    """A name such as "Chrome 126 on Windows 10" or "Safari on iOS 17 (iPhone)", else "Unknown device"."""
    if not user_agent:
        return _("Unknown device")
    browser, os_name, device = _parts(user_agent)
    if browser and os_name:
        name = _("%(browser)s on %(os)s") % {"browser": browser, "os": os_name}
    else:
        name = browser or os_name
    if device and device not in name:
        name = f"{name} ({device})" if name else device
    return name or _("Unknown device")
