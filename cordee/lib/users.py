"""Who is a signed-in, active user: the first check of every access rule."""

from __future__ import annotations

from typing import Any


def is_active_user(user: Any) -> bool:
    """Signed in (not anonymous) and not deactivated."""
    return user is not None and bool(getattr(user, "is_authenticated", False)) and bool(user.is_active)
