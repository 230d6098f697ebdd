"""Containment from the incident's page (issue 17, item 9): the compromised accounts' sessions
ended, password and second factor reset, the vault KEK and the audit signing key rotated — sudo,
audited, 404 to others."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client

from cordee.accounts.models import User
from cordee.audit import checkpoints, keyring, signing
from cordee.audit.models import AuditCheckpoint, AuditEntry
from cordee.audit.verify import verify_chain
from cordee.security.services import containment
from cordee.security.services.incidents import do_declare_incident
from tests.conftest import login_as
from tests.security.test_register import facts


@pytest.fixture
def incident(otto, structure):
    return do_declare_incident(structure, facts(), by=otto)


@pytest.fixture
def audit_key(settings, tmp_path):
    """A signing key of this test's own: the rotation replaces the file."""
    path = tmp_path / "keys" / "audit-ed25519.pem"
    signing.create_key(path)
    settings.AUDIT_SIGNING_KEY_PATH = path
    return path


ROTATIONS = ["security.containment", "vault.kek_rotated", "audit.signing_key_rotated"]


def url(incident, action: str) -> str:
    return f"/securite/incidents/{incident.pk}/{action}/"


def test_officer_contains_bobs_account(client_for, otto, bob, incident, django_capture_on_commit_callbacks):
    factors = Authenticator.objects.filter(user=bob).count()
    assert factors >= 1  # the persona has a TOTP
    bobs = Client()
    login_as(bobs, bob)
    assert bobs.get("/").status_code == 200
    page = client_for(otto).get(f"/securite/incidents/{incident.pk}/").content.decode()
    assert url(incident, "confinement") in page and url(incident, "rotation-kek") in page
    assert url(incident, "rotation-cle-audit") in page
    data = {"contain-accounts": [bob.pk], "contain-actions": ["sessions", "password", "factors"]}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(otto).post(url(incident, "confinement"), data)
    assert response.status_code == 302
    bob.refresh_from_db()
    incident.refresh_from_db()
    assert not bob.has_usable_password() and not Authenticator.objects.filter(user=bob).exists()
    assert bobs.get("/").status_code == 302  # his session is over
    entry = AuditEntry.objects.get(action="security.containment")
    assert entry.actor_id == otto.pk and entry.target_id == str(incident.pk)
    assert entry.details["accounts"] == [bob.pk] and entry.details["factors"] == factors
    assert entry.details["actions"] == ["sessions", "password", "factors"]
    assert not AuditEntry.objects.filter(action="mfa.removed").exists()  # the containment's entry says it
    words = containment.measure_words()
    said = ", ".join(str(words[action]) for action in ("sessions", "password", "factors"))
    assert incident.contained_at is not None and f"({said})" in incident.measures_taken
    (notice,) = [message for message in mail.outbox if message.to == [bob.email]]
    assert "/accounts/password/reset/" in notice.body and "incident" not in notice.body.lower()


def test_the_vault_kek_is_rotated_from_the_incident(client_for, otto, incident):
    response = client_for(otto).post(url(incident, "rotation-kek"))
    assert response.status_code == 302
    rotated = AuditEntry.objects.get(action="vault.kek_rotated")
    entry = AuditEntry.objects.get(action="security.containment")
    assert entry.actor_id == otto.pk and entry.details["actions"] == ["kek"]
    assert entry.details["new_key_id"] == rotated.details["new_key_id"]
    incident.refresh_from_db()
    assert incident.contained_at is not None


def test_the_audit_signing_key_is_rotated_from_the_incident(client_for, otto, incident, audit_key):
    checkpoints.make_checkpoint()
    old_id = signing.key_id()
    response = client_for(otto).post(url(incident, "rotation-cle-audit"), follow=True)
    assert response.status_code == 200
    assert "La clé de signature du journal d&#x27;audit a été renouvelée" in response.content.decode()
    new_id = signing.key_id()
    assert new_id != old_id and [key.key_id for key in keyring.load().keys] == [old_id, new_id]
    rotated = AuditEntry.objects.get(action="audit.signing_key_rotated")
    assert rotated.actor_id == otto.pk
    assert (rotated.details["old_key_id"], rotated.details["new_key_id"]) == (old_id, new_id)
    entry = AuditEntry.objects.get(action="security.containment")
    assert entry.actor_id == otto.pk and entry.target_id == str(incident.pk)
    assert entry.details == {"actions": ["audit_key"], "old_key_id": old_id, "new_key_id": new_id, "retired_keys": 1}
    incident.refresh_from_db()
    assert incident.contained_at is not None
    assert f"({new_id[:16]})" in incident.measures_taken.replace("new key ", "").replace("nouvelle clé ", "")
    # The checkpoints of both keys verify: the old key's before, the new key's after the rotation.
    checkpoints.make_checkpoint()
    assert set(AuditCheckpoint.objects.values_list("key_id", flat=True)) == {old_id, new_id}
    result = verify_chain()
    assert result.ok, result.problems


def test_an_unsound_key_ring_refuses_the_rotation_and_says_so(client_for, otto, incident, audit_key):
    keyring.ring_path().write_text("{not json")
    old_id = signing.key_id()
    response = client_for(otto).post(url(incident, "rotation-cle-audit"), follow=True)
    assert "n&#x27;a pas été renouvelée : " in response.content.decode()
    assert signing.key_id() == old_id
    assert not AuditEntry.objects.filter(action__in=ROTATIONS).exists()
    incident.refresh_from_db()
    assert incident.contained_at is None


@pytest.mark.parametrize(
    "bad", [{"contain-actions": []}, {"contain-accounts": []}, {"contain-actions": ["drop_database"]}]
)
def test_bad_containment_requests_are_refused(client_for, otto, bob, incident, bad):
    data = {"contain-accounts": [bob.pk], "contain-actions": ["sessions"], **bad}
    response = client_for(otto).post(url(incident, "confinement"), data)
    assert response.status_code == 400
    assert not AuditEntry.objects.filter(action="security.containment").exists()


def test_an_account_outside_the_structure_or_ones_own_is_refused(client_for, otto, incident):
    stranger = User.objects.create_user(email="ailleurs@exemple.fr", password="x-long-enough-password")
    client = client_for(otto)
    assert (
        client.post(
            url(incident, "confinement"), {"contain-accounts": [stranger.pk], "contain-actions": ["sessions"]}
        ).status_code
        == 400
    )
    response = client.post(
        url(incident, "confinement"), {"contain-accounts": [otto.pk], "contain-actions": ["password"]}
    )
    assert response.status_code == 302
    otto.refresh_from_db()
    assert otto.has_usable_password()
    assert not AuditEntry.objects.filter(action="security.containment").exists()


@pytest.mark.parametrize("who", ["alice", "charlie", "paula", "ada"])
def test_others_get_a_404(client_for, personas, bob, incident, who, audit_key):
    client = client_for(personas[who])
    assert (
        client.post(
            url(incident, "confinement"), {"contain-accounts": [bob.pk], "contain-actions": ["sessions"]}
        ).status_code
        == 404
    )
    assert client.post(url(incident, "rotation-kek")).status_code == 404
    assert client.post(url(incident, "rotation-cle-audit")).status_code == 404
    assert client.post("/securite/incidents/999999/confinement/", {}).status_code == 404
    assert client.post("/securite/incidents/999999/rotation-cle-audit/").status_code == 404
    assert not AuditEntry.objects.filter(action__in=ROTATIONS).exists()


def test_containment_needs_a_recent_sign_in_and_a_login(client, client_for, otto, bob, incident, audit_key):
    assert client.post(url(incident, "rotation-kek")).status_code == 302  # anonymous: to the sign-in
    assert client.post(url(incident, "rotation-cle-audit")).status_code == 302
    response = client_for(otto, recent=False).post(url(incident, "confinement"), {"contain-accounts": [bob.pk]})
    assert "/accounts/reauthenticate/" in response["Location"]
    response = client_for(otto, recent=False).post(url(incident, "rotation-kek"))
    assert "/accounts/reauthenticate/" in response["Location"]
    response = client_for(otto, recent=False).post(url(incident, "rotation-cle-audit"))
    assert "/accounts/reauthenticate/" in response["Location"]
    assert not AuditEntry.objects.filter(action__in=ROTATIONS).exists()
    assert not keyring.ring_path().exists()
