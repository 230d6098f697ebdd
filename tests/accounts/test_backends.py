"""The signed-in user is read by SQL kept per database (``cordee.accounts.backends``,
``cordee.db.reads.KeyRead``): same user as the ORM's ``get``, the same refusals, and sessions
signed in under the classes these backends extend still read as signed in."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.functional import SimpleLazyObject

from cordee.accounts.backends import _USERS, AuthenticationBackend, ModelBackend
from cordee.accounts.models import Professional, User
from cordee.db.reads import KeyRead, reverse_one
from tests.conftest import login_as


def _fields(user: User) -> list[object]:
    return [getattr(user, field.attname) for field in User._meta.concrete_fields]


def test_the_kept_read_gives_what_the_orm_gives(alice):
    alice.last_login = alice.date_joined
    alice.modules = ["messaging", "library"]
    alice.save()
    read = KeyRead(User)
    found = read.get(alice.pk)
    assert found is not None and found._state.adding is False and found._state.db == "default"
    assert _fields(found) == _fields(User.objects.get(pk=alice.pk))
    assert found.last_login is not None and found.last_login.tzinfo is not None  # converted as the ORM does
    assert found.is_active is True and found.modules == ["messaging", "library"]
    assert read.get(str(alice.pk)) is not None  # the session's string form of the key


def test_a_missing_key_is_none_and_the_sql_is_compiled_once(alice):
    read = KeyRead(User)
    assert read.get(10**9) is None
    with CaptureQueriesContext(connection) as queries:
        read.get(alice.pk)
        read.get(alice.pk)
    assert len(queries) == 2 and queries[0]["sql"] == queries[1]["sql"]
    assert list(read._kept) == ["default"]


def test_a_professional_profile_is_read_by_kept_sql_and_cached_as_the_orm_caches_it(alice, paula):
    """``reverse_one(user, "professional")``: what ``user.professional`` gives, one query on a fresh
    user, none after (the descriptor reads the same cache), and None for someone without one."""
    fresh = User.objects.get(pk=alice.pk)
    with CaptureQueriesContext(connection) as queries:
        found = reverse_one(fresh, "professional")
        again = reverse_one(fresh, "professional")
        through_orm = fresh.professional
        back = found.user
    assert len(queries) == 1
    assert found is again is through_orm and back is fresh
    assert [getattr(found, f.attname) for f in Professional._meta.concrete_fields] == [
        getattr(alice.professional, f.attname) for f in Professional._meta.concrete_fields
    ]
    patient = User.objects.get(pk=paula.pk)
    with CaptureQueriesContext(connection) as queries:
        assert reverse_one(patient, "professional") is None
        with pytest.raises(Professional.DoesNotExist):
            patient.professional  # noqa: B018  # the ORM's cached answer: none
    assert len(queries) == 1
    lazy = SimpleLazyObject(lambda: User.objects.get(pk=alice.pk))  # as Channels' scope user
    assert reverse_one(lazy, "professional").rpps == alice.professional.rpps


def test_a_key_that_is_not_a_number_is_refused_as_by_the_orm():
    with pytest.raises((ValueError, TypeError)):
        KeyRead(User).get("1 OR 1=1")


@pytest.mark.parametrize("backend", [ModelBackend, AuthenticationBackend])
def test_an_inactive_user_is_no_one(backend, alice):
    assert backend().get_user(alice.pk).pk == alice.pk
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert backend().get_user(alice.pk) is None
    assert _USERS.get(alice.pk) is not None  # the row is there: the backend refuses it


@pytest.mark.parametrize(
    "legacy", ["django.contrib.auth.backends.ModelBackend", "allauth.account.auth_backends.AuthenticationBackend"]
)
def test_a_session_naming_the_extended_class_stays_signed_in(client, alice, legacy):
    login_as(client, alice)
    session = client.session
    session[BACKEND_SESSION_KEY] = legacy
    session.save()
    response = client.get("/api/library/collections")
    assert response.status_code == 200


def test_a_session_naming_an_unknown_backend_is_signed_out(client, alice):
    login_as(client, alice)
    session = client.session
    session[BACKEND_SESSION_KEY] = "somewhere.else.Backend"
    session.save()
    assert client.get("/api/library/collections").status_code == 401


def test_a_password_change_still_ends_the_other_sessions(client, alice):
    login_as(client, alice)
    assert client.get("/api/library/collections").status_code == 200
    alice.set_password("another-long-password-2026")
    alice.save()
    assert client.get("/api/library/collections").status_code == 401


def test_the_request_user_is_read_at_once_not_behind_a_lazy_object(rf, alice):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.utils.functional import LazyObject

    from cordee.accounts.middleware import AuthenticationMiddleware

    def through(request):  # type: ignore[no-untyped-def]
        SessionMiddleware(lambda r: None).process_request(request)
        return request

    anonymous = through(rf.get("/"))
    AuthenticationMiddleware(lambda r: None).process_request(anonymous)
    assert type(anonymous.user) is AnonymousUser  # noqa: E721 -- the class itself, no proxy

    signed_in = through(rf.get("/"))
    signed_in.session.update(
        {
            "_auth_user_id": str(alice.pk),
            BACKEND_SESSION_KEY: "cordee.accounts.backends.ModelBackend",
            "_auth_user_hash": alice.get_session_auth_hash(),
        }
    )
    AuthenticationMiddleware(lambda r: None).process_request(signed_in)
    assert type(signed_in.user) is User and not isinstance(signed_in.user, LazyObject)  # noqa: E721
    assert signed_in.user.pk == alice.pk
