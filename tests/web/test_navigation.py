"""The shell's navigation, counts and home page come from the module registry, per persona (issue 11)."""

from __future__ import annotations

import re
import time
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cordee.accounts.sessions import LAST_SEEN_KEY
from cordee.lib import modules
from cordee.messaging import services as messaging
from cordee.messaging.shell import unread_memberships
from cordee.security.shell import alerts_to_review

WEB = Path(__file__).resolve().parents[2] / "cordee" / "web"


def _nav(html: str) -> str:
    return html.split('<nav id="nav"', 1)[1].split("</nav>", 1)[0]


def _labels(html: str) -> list[str]:
    return [unescape(label) for label in re.findall(r'<span class="nav-label">([^<]+)</span>', _nav(html))]


@pytest.mark.parametrize(
    ("who", "shown", "hidden"),
    [
        ("alice", ["Messagerie", "Patients", "Médicaments", "Structures"], ["Alertes de sécurité"]),
        ("sam", ["Messagerie", "Patients", "Structures"], ["Alertes de sécurité"]),
        ("ada", ["Messagerie", "Structures"], ["Patients", "Alertes de sécurité"]),
        ("otto", ["Messagerie", "Alertes de sécurité", "Structures"], ["Patients"]),
        ("paula", ["Messagerie", "Mon historique d'accès"], ["Patients", "Structures", "Médicaments"]),
    ],
)
def test_each_persona_sees_what_applies_to_them(client_for, personas, who, shown, hidden):
    labels = _labels(client_for(personas[who]).get("/").content.decode())
    assert labels[0] == "Accueil"
    for label in shown:
        assert label in labels, (who, label, labels)
    for label in hidden:
        assert label not in labels, (who, label, labels)


def test_nothing_in_the_shell_names_a_module():
    """Entries, counts, cards and searches come from the registry: the shell's code and templates
    name none of the apps that register them."""
    apps = "messaging|care|drugs|security"
    names = re.compile(
        rf"cordee\.({apps})\b|['\"]({apps}):|['\"](messagerie|medicaments|patients|alertes|mes_donnees)['\"]"
    )
    files = [*WEB.glob("*.py"), *(WEB / "templates" / "web").glob("*.html"), *(WEB / "static" / "web").rglob("*.js")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not names.search(text), f"{path.name} names a module: {names.search(text)[0]}"


def test_a_registered_key_cannot_be_registered_again_differently():
    entry = modules.entry("messagerie")
    modules.register(entry)  # the same: harmless (apps may be readied twice in tests)
    with pytest.raises(ImproperlyConfigured):
        modules.register(modules.Entry("messagerie", "autre", "web:home"))


def test_module_choices_are_checked_against_the_registry_for_the_kind_of_account(client_for, paula):
    assert modules.check_modules(["medicaments", "messagerie", "messagerie"], "professional") == [
        "messagerie",
        "medicaments",
    ]
    with pytest.raises(ValueError):
        modules.check_modules(["medicaments"], "patient")  # the drug module is not offered to patients
    response = client_for(paula).post("/modules/", {"modules": ["messagerie", "medicaments"]})
    assert response.status_code == 400


def test_the_counts_are_one_query_each(alice, otto, bob, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert unread_memberships(alice).count() == 1  # Bob's reply in the demo
    with django_assert_num_queries(1):
        assert alerts_to_review(otto).count() == 0


def test_unread_and_urgent_conversations_wait_on_the_home_page_urgent_first(client_for, alice, bob):
    from cordee.messaging.services.sending import SendRequest, do_send_message

    group = messaging.do_create_group(bob, "Garde du week-end", [alice.pk])
    do_send_message(
        SendRequest(user=bob, conversation_id=group.pk, body="Qui prend samedi ?", client_key="k-urgent-1", urgent=True)
    )
    html = client_for(alice).get("/").content.decode()
    assert "Conversations qui vous attendent" in html
    waiting = html.split("Conversations qui vous attendent", 1)[1]
    assert waiting.index("Garde du week-end") < waiting.index("Bob Durand")  # urgent first
    assert "Urgent" in waiting
    assert 'data-count="messagerie"' in _nav(html) and "2 conversations non lues" in _nav(html)
    assert "Qui prend samedi" not in html  # the home page never shows a message's text


def test_a_patient_home_shows_her_messages_and_data_never_professional_tools(client_for, paula):
    html = client_for(paula).get("/").content.decode()
    assert "Vos messages" in html and "Vos données" in html
    for tool in ("Patients", "Médicaments", "Alertes", "Structures", 'name="q"'):
        assert tool not in _nav(html)


def test_an_officer_is_told_of_alerts_to_review(client_for, otto, charlie, paula):
    from cordee.care.services import check_break_glass

    check_break_glass(charlie, str(paula.patient.pk), "Patiente inconsciente, recherche d'allergies")
    html = client_for(otto).get("/").content.decode()
    assert "Alertes de sécurité à examiner" in html and "1 alerte à examiner" in _nav(html)


def test_an_administrator_is_told_of_identities_to_verify(client_for, ada, alice):
    alice.professional.verification = "unverified"
    alice.professional.save(update_fields=["verification"])
    html = client_for(ada).get("/").content.decode()
    assert "1 professionnel attend la vérification de son identité" in html
    assert "1 identité à vérifier" in _nav(html)
    assert "Votre identité" in client_for(alice).get("/").content.decode()


# Exact queries of the home page, per persona: session, user, the entries that apply, one query for
# every count of the navigation (``modules.waiting_counts``), and the cards. A change here is a
# change in what every page costs: look at it, then update.
# Paula's: her record's card, and whether breach notices were sent to her (security's entry for patients).
# Alice's counts what waits in her modules (messages, referrals, tele-expertise, imaging inbox) in
# that one query; and the session's, read from the database without Redis. Her unread conversations
# are two queries (the memberships, kept compiled; then their conversations by key): one joined
# query built anew cost the ORM more than the second query costs (cordee.lib.prepared); Otto has none.
HOME_QUERIES = {"alice": 8, "otto": 8, "paula": 10}


@pytest.mark.parametrize("who", sorted(HOME_QUERIES))
def test_home_page_query_count_is_pinned(client_for, personas, who):
    client = client_for(personas[who])
    client.get("/")
    with CaptureQueriesContext(connection) as context:
        assert client.get("/").status_code == 200
    queries = [q["sql"][:150] for q in context.captured_queries]
    assert len(queries) == HOME_QUERIES[who] + (0 if settings.SESSIONS_CACHED else 1), "\n".join(queries)


def test_the_waiting_counts_for_open_tabs_do_not_keep_an_idle_session_alive(client_for, alice):
    client = client_for(alice)
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 600
    session.save()
    data = client.get("/attente/", headers={"X-Cordee-Background": "1"}).json()
    assert data["total"] == 1 and data["entries"]["messagerie"]["count"] == 1
    assert client.session[LAST_SEEN_KEY] <= int(time.time()) - 600
    state = client.get("/session/", headers={"X-Cordee-Background": "1"}).json()
    assert state["active"] and 0 < state["seconds_left"] <= 30 * 60 - 600
    client.get("/")  # a page the user opened is activity
    assert client.session[LAST_SEEN_KEY] >= int(time.time()) - 5


def test_every_count_of_the_navigation_is_read_in_one_query(personas, alice, charlie):
    """``waiting_counts`` gives each entry the count its own queryset gives, in one query, for
    plain, distinct, ``UNION ALL`` (``lib.paging``) and empty querysets alike."""
    from cordee.accounts.models import Membership, User
    from cordee.lib.paging import MergedRows

    def entry(key, rows):
        return modules.Entry(key=key, label=key, url_name="web:home", waiting=modules.Waiting(rows, str))

    entries = [
        entry("users", lambda user: User.objects.filter(is_active=True)),
        entry("structures", lambda user: Membership.objects.values("structure_id").distinct()),
        entry(
            "union", lambda user: MergedRows(User.objects.filter(pk=user.pk), User.objects.exclude(pk=user.pk)).keys()
        ),
        entry("none", lambda user: User.objects.none()),
        entry("mine", lambda user: User.objects.filter(pk=user.pk)),
    ]
    with CaptureQueriesContext(connection) as context:
        counts = modules.waiting_counts(alice, entries)
    assert len(context.captured_queries) == 1
    assert counts == {
        "users": User.objects.filter(is_active=True).count(),
        "structures": Membership.objects.values("structure_id").distinct().count(),
        "union": User.objects.count(),
        "none": 0,
        "mine": 1,
    }
    assert counts["users"] > 1 and counts["structures"] >= 1
    assert modules.waiting_counts(charlie, []) == {}
