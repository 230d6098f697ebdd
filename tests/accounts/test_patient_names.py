"""A stolen database does not say who is a patient (issue 10, finding 4): a patient's account row
and the audit trail carry no name; it is decrypted from the identity when shown."""

from __future__ import annotations

from django.test import Client

from cordee.accounts import demo
from cordee.accounts.display import person_name
from cordee.accounts.models import User
from cordee.audit.models import AuditEntry
from cordee.care.services import do_record_opposition
from cordee.vault import services as vault


def test_a_patient_account_row_has_no_name_and_shows_the_identitys(paula):
    row = User.objects.get(pk=paula.pk)
    assert (row.first_name, row.last_name) == ("", "")
    assert row.display_name == "Paula BERNARD"  # used given name + birth name, decrypted
    assert str(row) == "Paula BERNARD"


def test_audit_entries_name_a_patient_by_id_only(paula, bob):
    client = Client()
    client.post("/accounts/login/", {"login": paula.email, "password": demo.DEMO_PASSWORD})
    do_record_opposition(paula.patient, by=paula, member=bob)
    entries = AuditEntry.objects.filter(actor_id=paula.pk)
    assert {entry.action for entry in entries} >= {"login.success", "care.opposition_recorded"}
    for entry in entries:
        assert entry.actor_display == {"role": "patient"}
        assert "Paula" not in entry.target_display and "BERNARD" not in entry.target_display.upper()
    login = entries.get(action="login.success")
    assert (login.target_type, login.target_id, login.target_display) == ("accounts.user", str(paula.pk), "")


def test_names_are_decrypted_when_shown_and_an_erased_patient_reads_so(paula, alice, bob, client_for):
    opposition = do_record_opposition(paula.patient, by=paula, member=bob)
    assert opposition.recorded_by_name == "Paula BERNARD"
    page = client_for(alice).get(f"/patients/{paula.patient.pk}/").content.decode()
    assert "Paula BERNARD" in page
    entry = AuditEntry.objects.get(action="care.opposition_recorded")
    assert person_name(entry.actor_display, entry.actor_id) == "Paula BERNARD"
    vault.do_shred(paula.patient, by=alice, reason="Demande d'effacement (RGPD art. 17)")
    fresh = User.objects.get(pk=paula.pk)
    assert fresh.display_name in ("erased patient", "patient effacé")
    assert person_name(entry.actor_display, entry.actor_id) in ("erased patient", "patient effacé")
    assert person_name({"role": "patient"}, None) in ("erased patient", "patient effacé")


def test_a_patient_invited_to_sign_up_is_not_asked_for_names(client_for, ada, structure, client):
    from cordee.accounts.services import do_invite

    _invitation, token = do_invite(structure, "patiente@example.test", "patient", "member", invited_by=ada)
    client.get(f"/comptes/invitation/{token}/")
    page = client.get("/accounts/signup/").content.decode()
    assert 'name="first_name"' not in page and 'name="last_name"' not in page
