"""The structure admin's Annuaire Santé page, and verifying or rejecting a professional's identity.

Personas: ada administers the Tilleuls structure; alice (verified doctor) is a member but not an
admin; ``newcomer`` is an unverified doctor of the Tilleuls; ``elsewhere`` is a structure with
its own admin and professional, outside the Tilleuls.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cordee.accounts.annuaire.models import AnnuaireImport
from cordee.accounts.annuaire.services import do_import_annuaire, do_verify_professional
from cordee.accounts.models import Membership, Professional, Structure, User
from cordee.audit.models import AuditEntry
from tests.accounts.annuaire_helpers import SAMPLE_BYTES, extraction, rpps_line, stream, sudo, sudo_expired, with_key
from tests.conftest import login_as


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read the English messages; the French catalogue is checked by tests/web/test_i18n.py."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


NEWCOMER_RPPS = with_key("1000000004")


def make_professional(structure, email, last_name, rpps, *, profession="10", role=Membership.Role.MEMBER):
    user = User.objects.create_user(email, "x", first_name="Émile", last_name=last_name, kind=User.Kind.PROFESSIONAL)
    Membership.objects.create(user=user, structure=structure, role=role)
    return Professional.objects.create(user=user, rpps=rpps, profession_code=profession)


@pytest.fixture
def newcomer(structure):
    """An unverified doctor of the Tilleuls; the Annuaire writes his name LEFEVRE, without accent."""
    return make_professional(structure, "emile@cordee.test", "Lefèvre", NEWCOMER_RPPS)


@pytest.fixture
def elsewhere(personas):
    place = Structure.objects.create(name="Cabinet du Port", kind=Structure.Kind.CABINET)
    admin = User.objects.create_user("olga@cordee.test", "x", kind=User.Kind.STAFF)
    Membership.objects.create(user=admin, structure=place, role=Membership.Role.ADMIN)
    zoe = make_professional(place, "zoe@cordee.test", "Roux", with_key("1000000012"))
    return place, admin, zoe


def imported(*lines, structure=None, by=None):
    return do_import_annuaire(stream(extraction(*lines)), file_name="PS_LibreAcces_test.txt", by=by,
                              structure=structure)  # fmt: skip


def url(structure, professional=None, action=None):
    if professional is None:
        return reverse("accounts:annuaire", args=[structure.pk])
    return reverse(f"accounts:annuaire_{action}", args=[structure.pk, professional.pk])


# --- who sees the page ---------------------------------------------------------------------------
def test_page_without_login_redirects_to_login(client, structure):
    response = client.get(url(structure))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


def test_page_is_404_for_non_admins_and_outsiders_like_a_missing_structure(client, structure, alice, elsewhere):
    missing = Structure(pk=999_999)
    login_as(client, alice)  # member of the Tilleuls, not admin
    assert client.get(url(structure)).status_code == 404
    assert client.get(url(missing)).status_code == 404
    login_as(client, elsewhere[1])  # admin of another structure
    assert client.get(url(structure)).status_code == 404
    assert client.post(url(structure), {"file": SimpleUploadedFile("a.txt", SAMPLE_BYTES)}).status_code == 404
    assert not AnnuaireImport.objects.exists()


def test_admin_sees_professionals_and_the_matching_entry(client_for, ada, structure, newcomer):
    imported(rpps_line(NEWCOMER_RPPS, "LEFEVRE", "EMILE"), structure=structure, by=ada)
    response = client_for(ada).get(url(structure))
    assert response.status_code == 200
    page = response.content.decode()
    assert "LEFEVRE EMILE — Médecin" in page
    assert url(structure, newcomer, "verify") in page and url(structure, newcomer, "reject") in page
    assert "Martin Alice" in page  # verified members are listed with their status
    assert page.count('name="entry"') == 1  # only the unverified one can be verified


def test_structure_page_links_to_it_for_admins_only(client, structure, ada, alice):
    login_as(client, ada)
    assert url(structure) in client.get(reverse("accounts:structure", args=[structure.pk])).content.decode()
    login_as(client, alice)
    assert url(structure) not in client.get(reverse("accounts:structure", args=[structure.pk])).content.decode()


def test_page_queries_do_not_grow_with_members(client_for, ada, structure, newcomer):
    imported(rpps_line(NEWCOMER_RPPS, "LEFEVRE"), structure=structure, by=ada)
    client = client_for(ada)
    client.get(url(structure))
    with CaptureQueriesContext(connection) as before:
        client.get(url(structure))
    for n in range(3):
        make_professional(structure, f"p{n}@cordee.test", f"P{n}", with_key(f"200000000{n}"))
    with CaptureQueriesContext(connection) as after:
        client.get(url(structure))
    assert len(after) == len(before)


# --- upload --------------------------------------------------------------------------------------
def test_admin_uploads_an_extraction(client_for, ada, structure):
    response = client_for(ada).post(url(structure), {"file": SimpleUploadedFile("PS.txt", SAMPLE_BYTES)}, follow=True)
    run = AnnuaireImport.objects.get()
    assert (run.structure, run.imported_by, run.rows, run.status) == (structure, ada, 22, "done")
    assert "22 lines imported (22 people), 0 rejected." in response.content.decode()
    assert AuditEntry.objects.get(action="annuaire.imported").actor_id == ada.pk


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"\x89PNG\r\n\x1a\n\x00\x00", "This is a PNG file"), (b"a;b;c\n1;2;3\n", "the header has no column")],
)
def test_upload_of_a_wrong_file_says_why(client_for, ada, structure, data, message):
    response = client_for(ada).post(url(structure), {"file": SimpleUploadedFile("x.txt", data)}, follow=True)
    assert message in response.content.decode()
    assert AnnuaireImport.objects.get().status == "failed"


def test_upload_over_the_size_limit_is_refused(client_for, ada, structure, settings):
    settings.ANNUAIRE_UPLOAD_MAX_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.txt", b"x" * (1024 * 1024 + 1))
    response = client_for(ada).post(url(structure), {"file": big})
    assert response.status_code == 200 and "larger than 1 MB" in response.content.decode()
    assert not AnnuaireImport.objects.exists()


# --- verification --------------------------------------------------------------------------------
def verify(client, structure, professional, entry_id) -> str:
    """Post the Verify button; the messages shown on the page it leads to."""
    response = client.post(url(structure, professional, "verify"), {"entry": entry_id}, follow=True)
    return " ".join(str(m) for m in response.context["messages"])


def test_verify_needs_sudo_mode(client_for, ada, structure, newcomer):
    run = imported(rpps_line(NEWCOMER_RPPS, "LEFEVRE"), structure=structure, by=ada)
    client = client_for(ada)
    sudo_expired(client, ada)
    response = client.post(url(structure, newcomer, "verify"), {"entry": run.entries.get().pk})
    assert response.status_code == 302 and "/reauthenticate/" in response["Location"]
    newcomer.refresh_from_db()
    assert newcomer.verification == "unverified"


def test_admin_verifies_a_professional_with_audit(client_for, ada, structure, newcomer):
    run = imported(rpps_line(NEWCOMER_RPPS, "LEFEVRE"), structure=structure, by=ada)
    client = client_for(ada)
    sudo(client, ada)
    response = verify(client, structure, newcomer, run.entries.get().pk)
    assert response == "Émile Lefèvre is verified."
    newcomer.refresh_from_db()
    assert (newcomer.verification, newcomer.verified_by_id) == ("verified", ada.pk)
    assert newcomer.verified_at is not None
    assert newcomer.verification_source.startswith(f"Annuaire Santé import #{run.pk}")
    entry = AuditEntry.objects.get(action="identity.verified")
    assert (entry.outcome, entry.actor_id, entry.target_id) == ("success", ada.pk, str(newcomer.pk))
    assert NEWCOMER_RPPS in entry.target_display
    assert entry.details == {"import": run.pk, "line": 2, "sha256": run.sha256, "annuaire_name": "LEFEVRE Émile",
                             "profession_code": "10"}  # fmt: skip


@pytest.mark.parametrize(
    ("line_args", "message"),
    [
        (("LEFEBVRE",), "The family name differs from the Annuaire Santé's (LEFEBVRE)."),
        (("LEFEVRE", "Émile", "60", "Infirmier"), "The profession differs from the Annuaire Santé's (Infirmier)."),
    ],
)
def test_verify_refuses_a_mismatch_and_audits_it(client_for, ada, structure, newcomer, line_args, message):
    run = imported(rpps_line(NEWCOMER_RPPS, *line_args), structure=structure, by=ada)
    client = client_for(ada)
    assert url(structure, newcomer, "verify") not in client.get(url(structure)).content.decode()  # no button
    sudo(client, ada)
    assert verify(client, structure, newcomer, run.entries.get().pk) == message
    newcomer.refresh_from_db()
    assert newcomer.verification == "unverified"
    entry = AuditEntry.objects.get(action="identity.verified")
    assert (entry.outcome, entry.details["reason"]) == ("denied", message)


def test_verify_refuses_without_an_entry_for_that_rpps(client_for, ada, structure, newcomer, elsewhere):
    other = imported(rpps_line(with_key("3000000000"), "LEFEVRE"), structure=structure, by=ada)
    theirs = imported(rpps_line(NEWCOMER_RPPS, "LEFEVRE"), structure=elsewhere[0], by=elsewhere[1])
    client = client_for(ada)
    sudo(client, ada)
    expected = "No Annuaire Santé entry has this RPPS number"
    assert expected in verify(client, structure, newcomer, other.entries.get().pk)
    assert expected in verify(client, structure, newcomer, theirs.entries.get().pk)  # not visible to the Tilleuls
    assert expected in verify(client, structure, newcomer, 999_999)
    newcomer.refresh_from_db()
    assert newcomer.verification == "unverified"


def test_operator_imports_serve_every_structure(client_for, ada, structure, newcomer):
    national = do_import_annuaire(stream(SAMPLE_BYTES + rpps_line(NEWCOMER_RPPS, "LEFÈVRE").encode() + b"\n"),
                                  file_name="national.txt")  # fmt: skip
    client = client_for(ada)
    sudo(client, ada)
    verify(client, structure, newcomer, national.entries.get(rpps=NEWCOMER_RPPS).pk)
    newcomer.refresh_from_db()
    assert newcomer.verification == "verified"


def test_professional_of_another_structure_is_404(client_for, ada, structure, elsewhere):
    _place, _admin, zoe = elsewhere
    run = imported(rpps_line(zoe.rpps, "ROUX"), structure=structure, by=ada)
    client = client_for(ada)
    sudo(client, ada)
    assert client.post(url(structure, zoe, "verify"), {"entry": run.entries.get().pk}).status_code == 404
    assert client.post(url(structure, zoe, "reject")).status_code == 404
    zoe.refresh_from_db()
    assert zoe.verification == "unverified" and not AuditEntry.objects.filter(action__startswith="identity").exists()


def test_non_admin_posts_are_404(client_for, alice, structure, newcomer):
    client = client_for(alice)
    sudo(client, alice)
    assert client.post(url(structure, newcomer, "verify"), {"entry": 1}).status_code == 404
    assert client.post(url(structure, newcomer, "reject")).status_code == 404


def test_service_refuses_an_admin_of_another_structure_and_self_verification(structure, ada, newcomer, elsewhere):
    run = imported(rpps_line(NEWCOMER_RPPS, "LEFEVRE"), structure=structure, by=ada)
    with pytest.raises(PermissionDenied):
        do_verify_professional(newcomer, by=elsewhere[1], entry=run.entries.get())
    Membership.objects.filter(user=newcomer.user).update(role=Membership.Role.ADMIN)
    with pytest.raises(ValidationError, match="Nobody verifies their own identity"):
        do_verify_professional(newcomer, by=newcomer.user, entry=run.entries.get())


# --- rejection -----------------------------------------------------------------------------------
def test_reject_needs_sudo_then_rejects_with_audit(client_for, ada, structure, newcomer):
    client = client_for(ada)
    sudo_expired(client, ada)
    response = client.post(url(structure, newcomer, "reject"), {"reason": "RPPS of someone else"})
    assert response.status_code == 302 and "/reauthenticate/" in response["Location"]
    sudo(client, ada)
    client.post(url(structure, newcomer, "reject"), {"reason": "RPPS of someone else"})
    newcomer.refresh_from_db()
    assert (newcomer.verification, newcomer.verified_at) == ("rejected", None)
    entry = AuditEntry.objects.get(action="identity.rejected")
    assert (entry.actor_id, entry.target_id, entry.details) == (
        ada.pk,
        str(newcomer.pk),
        {"before": "unverified", "reason": "RPPS of someone else"},
    )
