"""Starting conversations, care-team threads following the team, and the server-rendered pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cordee.audit.models import AuditEntry
from cordee.messaging import services
from cordee.messaging.access import access_conversation
from cordee.messaging.models import Conversation, Member
from cordee.messaging.reading import conversation_list
from tests.messaging.conftest import client_as

pytestmark = pytest.mark.django_db


def member_ids(conversation) -> set[int]:
    return set(Member.objects.filter(conversation=conversation).values_list("user_id", flat=True))


def test_a_direct_conversation_is_one_per_pair(alice, charlie):
    first = services.do_start_direct(charlie, alice.pk)
    again = services.do_start_direct(alice, charlie.pk)
    assert first.pk == again.pk and member_ids(first) == {alice.pk, charlie.pk}
    assert AuditEntry.objects.filter(action="conversation.created", target_id=str(first.pk)).count() == 1


def test_no_direct_conversation_with_a_patient_or_a_stranger(alice, paula):
    with pytest.raises(Http404):
        services.do_start_direct(alice, paula.pk)
    with pytest.raises(Http404):
        services.do_start_direct(alice, 987654)


def test_a_group_only_takes_colleagues(alice, bob, paula):
    with pytest.raises(ValidationError):
        services.do_create_group(alice, "Avec une patiente", [bob.pk, paula.pk])
    with pytest.raises(ValidationError):
        services.do_create_group(alice, "   ", [bob.pk])
    group = services.do_create_group(alice, "Soins palliatifs", [bob.pk])
    assert Member.objects.get(conversation=group, user=alice).role == Member.Role.ADMIN
    assert Conversation.objects.get(pk=group.pk).title == "Soins palliatifs"


def test_group_names_are_stored_encrypted(alice, bob):
    from django.db import connection

    group = services.do_create_group(alice, "Suivi diabète Bernard", [bob.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT title FROM messaging_conversation WHERE id = %s", [group.pk])
        (raw,) = cursor.fetchone()
    assert b"Bernard" not in bytes(raw)


def test_the_last_administrator_leaving_hands_over(alice, bob):
    group = services.do_create_group(alice, "Équipe", [bob.pk])
    services.do_remove_member(alice, group.pk, alice.pk)
    assert Member.objects.get(conversation=group, user=bob).role == Member.Role.ADMIN


def test_only_a_professional_of_the_care_team_starts_a_patient_thread(alice, bob, charlie, sam, paula, threads):
    threads["patient"].delete()
    with pytest.raises(PermissionDenied):
        services.do_start_patient_thread(paula, paula.patient.pk)  # the patient does not start one
    with pytest.raises(PermissionDenied):
        services.do_start_patient_thread(sam, paula.patient.pk)  # staff do not either
    with pytest.raises(Http404):
        services.do_start_patient_thread(charlie, paula.patient.pk)  # outside the care team
    conversation = services.do_start_patient_thread(bob, paula.patient.pk)
    assert member_ids(conversation) == {bob.pk, paula.pk}
    entry = AuditEntry.objects.get(action="conversation.created", target_id=str(conversation.pk))
    assert (entry.category, entry.patient_id) == ("access", paula.patient.pk)


@pytest.mark.django_db(transaction=True)  # the care app signals after the commit
def test_the_care_team_thread_follows_the_team(alice, bob, charlie, sam, paula, threads):
    from cordee.care.models import CareTeamMember
    from cordee.care.services import do_add_to_care_team, do_remove_from_care_team

    care = threads["care"]
    assert member_ids(care) == {alice.pk, bob.pk, sam.pk}
    with pytest.raises(Http404):
        services.do_open_care_team_thread(charlie, paula.patient.pk)
    with pytest.raises(Http404):
        access_conversation(charlie, care.pk, purpose="messaging.read")
    do_add_to_care_team(paula.patient, charlie, by=alice)
    assert member_ids(care) == {alice.pk, bob.pk, sam.pk, charlie.pk}
    access_conversation(charlie, care.pk, purpose="messaging.read")
    do_remove_from_care_team(CareTeamMember.objects.get(member=charlie, removed_at__isnull=True), by=alice)
    assert member_ids(care) == {alice.pk, bob.pk, sam.pk}
    with pytest.raises(Http404):
        access_conversation(charlie, care.pk, purpose="messaging.read")


def test_opening_the_care_team_thread_when_none_exists_takes_the_whole_team(alice, bob, sam, paula, threads):
    threads["care"].delete()
    care = services.do_open_care_team_thread(bob, paula.patient.pk)
    assert care.kind == Conversation.Kind.CARE_TEAM and member_ids(care) == {alice.pk, bob.pk, sam.pk}
    assert services.do_open_care_team_thread(alice, paula.patient.pk).pk == care.pk


def test_pages_need_a_login_and_hide_other_peoples_conversations(alice, charlie, threads):
    for path in ["/messagerie/", "/messagerie/nouvelle/", f"/messagerie/{threads['direct'].pk}/"]:
        response = Client().get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    outsider = client_as(charlie)
    missing = outsider.get("/messagerie/987654/")
    assert missing.status_code == 404
    assert outsider.get(f"/messagerie/{threads['direct'].pk}/").status_code == 404
    assert outsider.get("/messagerie/abc/").status_code == 404
    page = client_as(alice).get("/messagerie/")
    assert page.status_code == 200
    assert b"Bob Durand" in page.content and b"chat-config" in page.content


def test_the_conversation_page_renders_its_island_without_inline_script(alice, threads):
    page = client_as(alice).get(f"/messagerie/{threads['direct'].pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'type="module" src="/static/messaging/conversation.js"' in html
    assert '<script id="chat-config" type="application/json">' in html
    import re

    for script in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html):
        assert 'type="application/json"' in script  # data only, never executed


def test_a_patient_cannot_open_the_new_conversation_page(paula):
    response = client_as(paula).get("/messagerie/nouvelle/")
    assert response.status_code == 302 and response["Location"] == "/messagerie/"  # with a word why


def test_settings_forms_close_replies_and_manage_a_group(alice, bob, charlie, paula, threads):
    client = client_as(alice)
    response = client.post(f"/messagerie/{threads['patient'].pk}/reglages/", {"action": "close"})
    assert response.status_code == 302
    assert Conversation.objects.get(pk=threads["patient"].pk).replies_closed
    refused = client_as(paula).post(f"/messagerie/{threads['patient'].pk}/reglages/", {"action": "reopen"})
    assert refused.status_code == 302 and Conversation.objects.get(pk=threads["patient"].pk).replies_closed
    created = client.post("/messagerie/nouvelle/groupe/", {"title": "Garde", "members": [bob.pk]})
    group = Conversation.objects.get(kind=Conversation.Kind.GROUP)
    assert created["Location"] == f"/messagerie/{group.pk}/"
    client.post(f"/messagerie/{group.pk}/reglages/", {"action": "add", "user": charlie.pk})
    assert member_ids(group) == {alice.pk, bob.pk, charlie.pk}
    left = client_as(bob).post(f"/messagerie/{group.pk}/reglages/", {"action": "leave"})
    assert left["Location"] == "/messagerie/" and member_ids(group) == {alice.pk, charlie.pk}


def test_the_conversation_list_costs_the_same_queries_whatever_its_length(alice, bob, charlie, threads):
    """Names shown in the list (groups' titles, patients' names) are decrypted with keys read in one
    query per kind of owner, not one key row per conversation (issue 21)."""

    def queries() -> tuple[int, list[str]]:
        with CaptureQueriesContext(connection) as captured:
            labels = [row.label for row in conversation_list(alice)]
        return len(captured.captured_queries), labels

    services.do_create_group(alice, "Staff 0", [bob.pk, charlie.pk])
    before, labels = queries()
    assert len(labels) == 4 and all(labels)  # the direct, care-team and patient threads and a group, each named
    for n in range(1, 6):
        services.do_create_group(alice, f"Staff {n}", [bob.pk, charlie.pk])
    after, labels = queries()
    assert {f"Staff {n}" for n in range(6)} <= set(labels)
    assert after == before
