"""Pages of tele-expertise, the patient's space, the billing export."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from cordee.expertise import services
from cordee.expertise.models import Expertise
from tests.conftest import without_csrf
from tests.expertise.conftest import client_as, last_entry

pytestmark = pytest.mark.django_db
MISSING_ID = 987654321


@pytest.fixture
def expertise(alice, charlie, patient):
    return services.check_create_expertise(
        alice,
        patient.pk,
        question="Lésion du dos ?",
        expert_id=charlie.pk,
        consent_how="oral",
        consent_at=timezone.localdate(),
        send=True,
    )


def test_anonymous_and_outsider(expertise, personas, patient):
    for url in [
        f"/avis/{expertise.pk}/",
        "/avis/",
        "/avis/envoyes/",
        "/avis/mes-demandes/",
        f"/avis/patient/{patient.pk}/nouveau/",
    ]:
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    otto = client_as(personas["otto"])
    missing, forbidden = otto.get(f"/avis/{MISSING_ID}/"), otto.get(f"/avis/{expertise.pk}/")
    assert missing.status_code == forbidden.status_code == 404
    assert without_csrf(missing.content) == without_csrf(forbidden.content)
    assert otto.post(f"/avis/{expertise.pk}/accept/").status_code == 404
    assert otto.get(f"/avis/patient/{patient.pk}/nouveau/").status_code == 404


def test_ask_with_consent_from_the_page(alice, charlie, patient):
    client = client_as(alice)
    assert client.get(f"/avis/patient/{patient.pk}/nouveau/").status_code == 200
    refused = client.post(
        f"/avis/patient/{patient.pk}/nouveau/", {"question": "Avis ?", "expert": charlie.pk, "send": "1"}
    )
    assert refused.status_code == 400 and "consentement" in refused.content.decode()
    response = client.post(
        f"/avis/patient/{patient.pk}/nouveau/",
        {
            "question": "Avis ?",
            "expert": charlie.pk,
            "consent_how": "oral",
            "consent_at": str(timezone.localdate()),
            "send": "1",
        },
    )
    expertise = Expertise.objects.get()
    assert response.status_code == 302 and expertise.state == "sent"


def test_expert_thread_and_answer_pages(alice, charlie, paula, expertise):
    expert = client_as(charlie)
    assert "Lésion du dos" in expert.get(f"/avis/{expertise.pk}/").content.decode()
    assert last_entry("expertise.read").actor_id == charlie.pk
    expert.post(f"/avis/{expertise.pk}/accept/")
    expert.post(f"/avis/{expertise.pk}/question/", {"text": "Taille ?"})
    client_as(alice).post(f"/avis/{expertise.pk}/reply/", {"text": "8 mm"})
    expert.post(
        f"/avis/{expertise.pk}/answer/",
        {"answer": "Exérèse", "course_of_action": "Dermato", "consultation_needed": "1"},
    )
    expertise.refresh_from_db()
    assert expertise.state == "answered"
    page = client_as(alice).get(f"/avis/{expertise.pk}/").content.decode()
    assert "Exérèse" in page and "Taille ?" in page and "8 mm" in page
    mine = client_as(paula)
    patient_page = mine.get(f"/avis/{expertise.pk}/").content.decode()
    assert "Répondu" in patient_page and "Taille ?" not in patient_page and "Exérèse" not in patient_page
    assert f"/avis/{expertise.pk}/" in mine.get("/avis/mes-demandes/").content.decode()
    assert f"/avis/{expertise.pk}/" in expert.get("/avis/").content.decode()


def test_billing_export_by_a_structure_admin(ada, alice, charlie, expertise, settings):
    settings.EXPERTISE_ACT_CODE_EXPERT = "TE9"
    services.do_transition(charlie, expertise.pk, "accept")
    services.do_transition(charlie, expertise.pk, "answer", text="Bénin")
    assert client_as(alice).get("/avis/facturation/").status_code == 404  # not an administrator
    client = client_as(ada)
    assert client.get("/avis/facturation/").status_code == 200
    month = timezone.localdate().strftime("%Y-%m")
    structure = ada.memberships.get().structure_id
    response = client.post("/avis/facturation/", {"structure": structure, "month": month})
    text = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = text.strip().splitlines()
    assert lines[0].startswith("demande;patient;") and len(lines) == 2
    assert "TE9" in lines[1] and "10000000025" in lines[1] and "Bénin" not in text
    assert last_entry("expertise.billing_exported").details == {"month": month, "rows": 1}
    assert client.post("/avis/facturation/", {"structure": structure, "month": "2026-13"}).status_code == 400
    assert client.post("/avis/facturation/", {"structure": MISSING_ID, "month": month}).status_code == 400
