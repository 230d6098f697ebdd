"""The breach register (RGPD art. 33(5)): who keeps it, its pages, its exports, their audit entries."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cordee.accounts.models import Membership, Structure
from cordee.audit.models import AuditEntry
from cordee.security.models import Incident
from cordee.security.services.incidents import do_declare_incident, do_update_incident
from tests.conftest import without_csrf

REGISTER = "/securite/incidents/"
DECLARE = "/securite/incidents/nouveau/"
TITLE = "Compte de Bob utilisé par un tiers"


def page(incident_id) -> str:
    return f"/securite/incidents/{incident_id}/"


def facts(**more) -> dict:
    values = {
        "title": TITLE,
        "nature": "Connexion depuis une adresse inconnue, confidentialité",
        "data_categories": "",
        "people_count": None,
        "records_count": None,
        "consequences": "",
        "measures_taken": "",
        "measures_proposed": "",
        "contact": "Otto Garnier, DPO, dpo@example.org",
        "aware_at": (timezone.now() - dt.timedelta(hours=10)).replace(second=0, microsecond=0),
        "occurred_at": None,
        "contained_at": None,
        "notified_at": None,
        "cnil_decision": Incident.Decision.PENDING,
        "cnil_reasoning": "",
        "patients_decision": Incident.Decision.PENDING,
        "patients_reasoning": "",
    }
    return values | more


def form_data(**more) -> dict:
    data = {k: ("" if v is None else v) for k, v in facts(**more).items()}
    for name in ("aware_at", "occurred_at", "contained_at", "notified_at"):
        if isinstance(data[name], dt.datetime):
            data[name] = timezone.localtime(data[name]).strftime("%Y-%m-%dT%H:%M")
    return data


@pytest.fixture
def incident(otto, structure) -> Incident:
    return do_declare_incident(structure, facts(), by=otto)


def _last(action: str) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("-seq").first()
    assert entry is not None
    return entry


def test_register_needs_login(client, db):
    response = client.get(REGISTER)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_officer_declares_an_incident_and_it_is_audited(client_for, otto, structure):
    client = client_for(otto)
    assert client.get(DECLARE).status_code == 200
    response = client.post(DECLARE, {"structure": structure.pk, **form_data()})
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == page(incident.pk)
    assert (incident.title, incident.structure_id, incident.created_by_id) == (TITLE, structure.pk, otto.pk)
    entry = _last("security.incident_declared")
    assert (entry.actor_id, entry.target_id, entry.details["structure"]) == (otto.pk, str(incident.pk), structure.pk)
    assert TITLE not in str(entry.details) and entry.target_display == f"incident #{incident.pk}"


def test_declaring_needs_a_recent_sign_in(client_for, otto, structure):
    response = client_for(otto, recent=False).post(DECLARE, {"structure": structure.pk, **form_data()})
    assert "/accounts/reauthenticate/" in response["Location"]
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "bad",
    [
        {"title": ""},
        {"aware_at": "junk"},
        {"cnil_decision": "none", "cnil_reasoning": ""},
        {"patients_decision": "maybe"},
        {"people_count": "-3"},
    ],
)
def test_bad_declarations_are_refused_with_the_form(client_for, otto, structure, bad):
    response = client_for(otto).post(DECLARE, {"structure": structure.pk, **form_data(), **bad})
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    assert not Incident.objects.exists()


def test_officer_cannot_declare_for_another_structure(client_for, otto, structure):
    elsewhere = Structure.objects.create(name="Ailleurs", kind=Structure.Kind.CABINET)
    response = client_for(otto).post(DECLARE, {"structure": elsewhere.pk, **form_data()})
    assert response.status_code == 400
    with pytest.raises(PermissionDenied):
        do_declare_incident(elsewhere, facts(), by=otto)


def test_register_lists_the_incident_with_its_clock_and_is_audited(client_for, otto, incident):
    html = client_for(otto).get(REGISTER).content.decode()
    assert TITLE in html and page(incident.pk) in html and "<caption" in html
    assert re.search(r"6[12] h \d\d min", html)  # 72 h from awareness 10 h ago
    assert _last("security.register_viewed").details == {"incidents": [incident.pk]}


def test_incident_page_shows_the_facts_and_is_audited(client_for, otto, incident):
    html = client_for(otto).get(page(incident.pk)).content.decode()
    assert TITLE in html and "dpo@example.org" in html and 'role="status"' in html
    entry = _last("security.incident_viewed")
    assert (entry.actor_id, entry.target_id, entry.purpose) == (otto.pk, str(incident.pk), "security.incident_view")


def test_decisions_are_recorded_with_their_reasoning_and_audited(client_for, otto, incident):
    reasoning = "Aucune donnée lisible exposée : risque improbable (art. 33(1))"
    data = form_data(cnil_decision="none", cnil_reasoning=reasoning, contained_at=timezone.now())
    response = client_for(otto).post(page(incident.pk) + "modifier/", data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.cnil_decision, incident.cnil_reasoning) == ("none", reasoning)
    entry = _last("security.incident_updated")
    assert entry.details["fields"] == ["cnil_decision", "cnil_reasoning", "contained_at"]
    assert reasoning not in str(entry.details)
    assert "No notification" in client_for(otto).get(REGISTER).content.decode() or "Pas de notification" in (
        client_for(otto).get(REGISTER).content.decode()
    )


def test_a_decision_without_reasoning_is_refused(client_for, otto, incident):
    response = client_for(otto).post(page(incident.pk) + "modifier/", form_data(patients_decision="notify"))
    assert response.status_code == 400
    incident.refresh_from_db()
    assert incident.patients_decision == "pending"


def test_update_needs_a_recent_sign_in(client_for, otto, incident):
    response = client_for(otto, recent=False).post(page(incident.pk) + "modifier/", form_data(title="Autre"))
    assert "/accounts/reauthenticate/" in response["Location"]


@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "sam", "ada", "paula"])
def test_others_get_404_everywhere(client_for, personas, incident, who, settings):
    settings.DEBUG = False
    client = client_for(personas[who])
    for url in (REGISTER, DECLARE, page(incident.pk), REGISTER + "registre.csv", REGISTER + "registre.pdf"):
        assert client.get(url).status_code == 404, url
    assert client.post(page(incident.pk) + "modifier/", form_data(title="x")).status_code == 404
    incident.refresh_from_db()
    assert incident.title == TITLE


def test_officer_of_another_structure_gets_the_answer_for_a_missing_incident(client_for, otto, incident, settings):
    settings.DEBUG = False
    elsewhere = Structure.objects.create(name="Ailleurs", kind=Structure.Kind.CABINET)
    Membership.objects.filter(user=otto).update(structure=elsewhere)
    client = client_for(otto)
    forbidden, missing = client.get(page(incident.pk)), client.get(page(999999))
    assert forbidden.status_code == missing.status_code == 404
    assert without_csrf(forbidden.content) == without_csrf(missing.content)
    assert client.get(page("12abc")).status_code == 404
    refused = _last("access.refused")
    assert (refused.target_type, refused.purpose) == ("security.incident", "security.incident_view")
    with pytest.raises(PermissionDenied):
        do_update_incident(incident, {"title": "x"}, by=otto)


def test_platform_operator_keeps_every_register(client_for, ada, incident):
    ada.is_superuser = True
    ada.save(update_fields=["is_superuser"])
    assert client_for(ada).get(page(incident.pk)).status_code == 200


def test_register_exports_as_csv_and_pdf_audited(client_for, otto, incident):
    client = client_for(otto)
    response = client.get(REGISTER + "registre.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) == 2 and rows[1][0] == str(incident.pk) and rows[1][2] == TITLE
    assert _last("security.register_exported").details == {"format": "csv", "incidents": [incident.pk]}
    response = client.get(REGISTER + "registre.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert _last("security.register_exported").details["format"] == "pdf"


def test_csv_cells_cannot_become_formulas(otto, structure):
    from cordee.security.register import register_csv

    incident = do_declare_incident(structure, facts(title="=HYPERLINK(1)"), by=otto)
    text = register_csv([incident], timezone.now())
    assert "'=HYPERLINK(1)" in text


def test_exports_need_a_recent_sign_in(client_for, otto, incident):
    response = client_for(otto, recent=False).get(REGISTER + "registre.csv")
    assert "/accounts/reauthenticate/" in response["Location"]
