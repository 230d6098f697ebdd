"""Child process of the messaging benchmark: migrate a fresh database and create the workload.

Run by ``run.py`` with ``CORDEE_DATA_DIR`` (and ``DATABASE_URL`` for PostgreSQL) in its
environment; prints one JSON object: the users (id and session cookie) and the conversations.

Users are created like the demo's doctors (one structure, verified professionals with a
membership and the modules a professional has from their sign-up);
conversations through Cordée's own services (``do_start_direct``, ``do_create_group``), so they
are audited like any other. Sessions are created server-side through Django's session engine,
with the flags of a full sign-in (password and second factor), as ``tests/conftest.py`` does.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setup() -> None:
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cordee.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _users(count: int) -> list:
    from cordee.accounts.models import Membership, Professional, Structure, User
    from cordee.lib.modules import default_modules

    structure = Structure.objects.create(
        name="Maison de santé du banc d'essai", kind=Structure.Kind.MAISON_SANTE, finess="010002129"
    )
    users = []
    for number in range(count):
        user = User.objects.create_user(
            f"bench{number:03d}@cordee.test",
            None,
            first_name="Bench",
            last_name=f"User{number:03d}",
            kind=User.Kind.PROFESSIONAL,
            modules=default_modules(User.Kind.PROFESSIONAL),  # as after a sign-up
        )
        Professional.objects.create(
            user=user,
            rpps=f"1{number:010d}",
            profession_code="10",
            verification=Professional.Verification.VERIFIED,  # a checked identity, as the demo's doctors
        )
        Membership.objects.create(user=user, structure=structure)
        users.append(user)
    return users


def _session(user) -> str:
    """A session as after password + TOTP (the flags ``login_as`` of tests/conftest.py sets)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "cordee.accounts.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["cordee_mfa_ok"] = True
    store["account_authentication_methods_user"] = str(user.pk)
    store["account_authentication_methods"] = [
        {"method": "password", "at": time.time(), "email": user.email},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"  # the Cookie header


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    group_size = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    _setup()
    from cordee.messaging.services import do_create_group, do_start_direct

    users = _users(count)
    directs = []
    for first, second in zip(users, users[1:], strict=False):  # neighbours: i and i + 1
        directs.append(do_start_direct(first, second.pk).pk)
    members = users[:group_size]
    group = do_create_group(members[0], "Groupe du banc d'essai", [u.pk for u in members[1:]])
    out = {
        "users": [{"id": u.pk, "cookie": _session(u)} for u in users],
        "directs": directs,  # directs[i]: users[i] and users[i + 1]
        "group": group.pk,
        "group_size": group_size,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
