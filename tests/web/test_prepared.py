"""``cordee.lib.prepared``: a queryset's SQL kept per user only when nothing else can change it."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from cordee.accounts import shell as accounts_shell
from cordee.accounts.models import Membership, User
from cordee.lib import modules
from cordee.lib.paging import count_compiled, countable
from cordee.lib.prepared import Prepared
from cordee.messaging import reading
from cordee.messaging import services as messaging
from cordee.messaging import shell as messaging_shell
from cordee.messaging.shell import unread_memberships
from cordee.security import access as security_access

_PAGES = {
    "list": reading._LIST,
    "others": reading._OTHERS,
    "waiting": messaging_shell._WAITING,
    "to_verify": accounts_shell._TO_VERIFY,
    "officer": security_access._OFFICER,
}


def _unkept_of_pages() -> dict[str, int]:
    return {name: prepared.unkept for name, prepared in _PAGES.items()}


class Counting:
    """A build that counts its calls."""

    def __init__(self, build):  # type: ignore[no-untyped-def]
        self.build, self.calls = build, 0

    def __call__(self, user: User) -> QuerySet:
        self.calls += 1
        return self.build(user)


def _count(prepared: Prepared, user: User) -> int:
    return count_compiled([prepared.sql(user)], using="default")[0]


def _memberships(user: User) -> QuerySet:
    if not user.is_active:
        return Membership.objects.none()
    return Membership.objects.filter(user=user)


def test_a_build_from_the_users_fields_is_compiled_once_per_user(alice, bob):
    build = Counting(_memberships)
    prepared = Prepared(build, shape=countable)
    assert _count(prepared, alice) == Membership.objects.filter(user=alice).count() >= 1
    calls = build.calls  # two checked builds
    assert calls == 2
    assert _count(prepared, alice) == Membership.objects.filter(user=alice).count()
    assert build.calls == calls  # kept: neither built nor compiled again
    # Bob's is his own (the key is every field of the user, the id among them).
    assert _count(prepared, bob) == Membership.objects.filter(user=bob).count()
    assert build.calls == calls + 2 and prepared.unkept == 0


def test_a_user_whose_fields_changed_gets_sql_for_what_they_are_now(alice):
    prepared = Prepared(_memberships, shape=countable)
    assert _count(prepared, alice) >= 1
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert prepared.sql(alice) is None  # none(): the build's other shape, not the kept SQL
    assert _count(prepared, alice) == 0


def test_a_build_that_reads_the_database_is_compiled_at_each_call_and_stays_right(alice):
    def through_profile(user: User) -> QuerySet:  # reads user.professional: a query
        verified = user.professional.is_verified
        return Membership.objects.filter(user=user) if verified else Membership.objects.none()

    build = Counting(through_profile)
    prepared = Prepared(build, shape=countable)
    assert _count(prepared, alice) >= 1 and prepared.unkept == 1
    alice.professional.verification = "unverified"
    alice.professional.save(update_fields=["verification"])
    fresh = User.objects.get(pk=alice.pk)  # the same fields: only the profile changed
    assert _count(prepared, fresh) == 0 and prepared.unkept == 2


def test_a_build_that_swallows_the_refusal_of_its_query_is_not_kept(alice):
    def careless(user: User) -> QuerySet:
        try:
            verified = user.professional.is_verified
        except Exception:  # noqa: BLE001 -- what a careless build might do
            verified = False
        return Membership.objects.filter(user=user) if verified else Membership.objects.none()

    prepared = Prepared(careless, shape=countable)
    assert _count(prepared, alice) >= 1 and prepared.unkept == 1  # not the none() its guarded builds saw


def test_a_related_object_named_in_reads_joins_the_key(alice):
    def through_profile(user: User) -> QuerySet:
        verified = user.professional.is_verified
        return Membership.objects.filter(user=user) if verified else Membership.objects.none()

    build = Counting(through_profile)
    prepared = Prepared(build, shape=countable, reads=("professional",))
    assert _count(prepared, alice) >= 1 and prepared.unkept == 0
    assert _count(prepared, User.objects.get(pk=alice.pk)) >= 1
    assert build.calls == 2  # kept across two loads of the same user
    alice.professional.verification = "unverified"
    alice.professional.save(update_fields=["verification"])
    assert _count(prepared, User.objects.get(pk=alice.pk)) == 0  # not the SQL kept for the verified profile


def test_a_patient_without_the_related_profile_is_a_key_too(paula, alice):
    def professionals(user: User) -> QuerySet:
        profile = getattr(user, "professional", None)  # none for a patient: known without a query
        return Membership.objects.filter(user=user) if profile is not None else Membership.objects.none()

    prepared = Prepared(professionals, shape=countable, reads=("professional",))
    assert prepared.sql(paula) is None and prepared.sql(alice) is not None
    assert prepared.unkept == 0


def test_a_build_that_reads_the_clock_is_not_kept(alice):
    def recent(user: User) -> QuerySet:
        return Membership.objects.filter(user=user, joined_at__lte=timezone.now())

    build = Counting(recent)
    prepared = Prepared(build, shape=countable)
    for _ in range(3):
        assert _count(prepared, alice) == Membership.objects.filter(user=alice).count()
    assert prepared.unkept == 3 and build.calls == 9  # two checks and the call's own build, each time


def test_kept_sql_expires_and_the_oldest_users_go_first(alice, bob, charlie):
    build = Counting(_memberships)
    expired = Prepared(build, shape=countable, ttl=0)
    expired.sql(alice)
    expired.sql(alice)
    assert build.calls == 4
    small = Prepared(_memberships, shape=countable, size=2)
    for user in (alice, bob, charlie):
        small.sql(user)
    assert [key[2] for key in small._kept] == [bob.pk, charlie.pk]  # the id, first of the fields


def test_exists_answers_from_the_kept_sql(otto, alice):
    prepared = Prepared(security_access.officer_memberships)
    assert prepared.exists(otto) and not prepared.exists(alice)
    assert prepared.exists(otto) and prepared.unkept == 0


def test_each_persona_s_navigation_counts_are_kept_and_their_own(client_for, personas, alice, bob):
    """Every count of every persona's navigation is kept (a ``rows`` that reads the database or
    the clock would cost the ORM on every page again), and two users see their own counts."""
    entries = [entry for entry in modules.entries() if entry.waiting is not None]
    for prepared in [entry.waiting.counted for entry in entries] + list(_PAGES.values()):
        prepared.clear()
        prepared.unkept = 0
    for name in ("alice", "bob", "charlie", "paula", "sam", "ada", "otto"):
        client = client_for(personas[name])
        assert client.get("/").status_code == 200
        assert client.get("/messagerie/").status_code == 200
    assert {entry.key: entry.waiting.counted.unkept for entry in entries} == {entry.key: 0 for entry in entries}
    # …and so are the pages' other kept queries (a staff member's list too: whom she acts for is a
    # subquery of it, not a list read while it is built)
    assert _unkept_of_pages() == dict.fromkeys(_PAGES, 0)
    group = messaging.do_create_group(bob, "Garde", [alice.pk])
    from cordee.messaging.services.sending import SendRequest, do_send_message

    do_send_message(SendRequest(user=bob, conversation_id=group.pk, body="Samedi ?", client_key="k-prepared-1"))
    alice_counts = modules.waiting_counts(alice, modules.shown_to(alice))
    bob_counts = modules.waiting_counts(bob, modules.shown_to(bob))
    assert alice_counts["messagerie"] == unread_memberships(alice).count() >= 1
    assert bob_counts["messagerie"] == unread_memberships(bob).count() != alice_counts["messagerie"]


def test_instances_are_what_raw_gives_fields_converted_and_annotations_set(alice, bob):
    from django.db.models import Count

    from cordee.accounts.models import User as Users

    def build(user: User) -> QuerySet:
        return Users.objects.filter(is_active=True).annotate(n=Count("memberships")).order_by("pk")

    prepared = Prepared(build)
    compiled = prepared.sql(alice)
    assert compiled is not None
    expected = list(Users.objects.raw(*compiled))
    for _ in range(2):  # the layout worked out, then kept
        found = prepared.instances(alice, Users)
        assert [(u.pk, u.date_joined, u.is_active, u.modules, u.n) for u in found] == [
            (u.pk, u.date_joined, u.is_active, u.modules, u.n) for u in expected
        ]
        assert all(u.date_joined.tzinfo is not None and u._state.db == "default" for u in found)
