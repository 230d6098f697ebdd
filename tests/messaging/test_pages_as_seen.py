"""Messaging pages as a new user saw them (issue 11): a patient is not offered to start a
conversation nor a group's settings, and the settings of a group stay its administrators'."""

from __future__ import annotations

import logging

from cordee.messaging import services

RENAME = 'value="rename"'
PROMOTE = 'value="promote"'


def test_a_patient_is_not_offered_a_new_conversation(client_for, paula):
    html = client_for(paula).get("/messagerie/").content.decode()
    assert "/messagerie/nouvelle/" not in html


def test_a_patient_opening_new_conversation_is_told_why_in_french_without_a_traceback(client_for, paula, caplog):
    caplog.set_level(logging.INFO)
    client = client_for(paula)
    response = client.get("/messagerie/nouvelle/")
    assert response.status_code == 302 and response["Location"] == "/messagerie/"
    page = client.get("/messagerie/").content.decode()
    assert "Ce sont vos professionnels qui ouvrent les conversations avec vous" in page
    assert not [record for record in caplog.records if record.exc_info or record.levelno >= logging.WARNING]


def test_neither_side_of_a_patient_thread_is_offered_to_rename_it_or_name_administrators(
    client_for, alice, paula, threads
):
    url = f"/messagerie/{threads['patient'].pk}/"
    for user in (paula, alice):
        html = client_for(user).get(url).content.decode()
        assert RENAME not in html and PROMOTE not in html and 'value="remove"' not in html


def test_a_group_administrator_still_manages_the_group(client_for, alice, bob):
    group = services.do_create_group(alice, "Staff du lundi", [bob.pk])
    html = client_for(alice).get(f"/messagerie/{group.pk}/").content.decode()
    assert RENAME in html and PROMOTE in html
    html = client_for(bob).get(f"/messagerie/{group.pk}/").content.decode()
    assert RENAME not in html and PROMOTE not in html
