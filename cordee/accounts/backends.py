"""Authentication backends: Django's and allauth's, with the signed-in user read by SQL kept once
per database (``cordee.db.reads.KeyRead``) instead of a queryset compiled on every request.

Sessions signed in before these classes carry the path of the class they extend; the session
engine reads those paths as these (``cordee.accounts.sessions.RENAMED_BACKENDS``), so no one is signed out.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from cordee.db.reads import KeyRead

_USERS = KeyRead(get_user_model())


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id: Any) -> Any | None:
        user = _USERS.get(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class AuthenticationBackend(ModelBackend, AllauthBackend):
    """allauth's (e-mail sign-in), reading the user as ``ModelBackend`` above."""
