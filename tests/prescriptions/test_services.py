"""Writing, checking, signing, cancelling, renewing: the services, their refusals and audit entries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.http import Http404
from django.utils import timezone

from cordee.audit.models import AuditEntry
from cordee.prescriptions import access, posology, purposes
from cordee.prescriptions.models import Prescription
from cordee.prescriptions.services import checks, drafts, lifecycle, signing
from cordee.prescriptions.services.errors import PrescriptionError
from tests.prescriptions.conftest import DOLIPRANE, DOLIPRANE_BOX, HOSPITAL, MORPHINE, PARACETAMOL, WITHDRAWN, line


def _code(call) -> str:
    with pytest.raises(PrescriptionError) as caught:
        call()
    return caught.value.code


@pytest.fixture
def draft(alice, paula, drugs):
    return drafts.do_create_draft(alice, paula.patient.pk)


def test_a_draft_is_audited_naming_the_patient(draft, alice, paula):
    entry = AuditEntry.objects.filter(action=purposes.DRAFTED).get()
    assert entry.patient_id == paula.patient.pk and entry.actor_id == alice.pk
    assert entry.category == AuditEntry.Category.ACCESS


def test_only_verified_prescribers_with_the_patient_may_write(bob, sam, paula, charlie, drugs):
    assert _code(lambda: drafts.do_create_draft(bob, paula.patient.pk)) == "not_prescriber"  # a nurse
    assert _code(lambda: drafts.do_create_draft(sam, paula.patient.pk)) == "not_prescriber"  # staff
    assert _code(lambda: drafts.do_create_draft(paula, paula.patient.pk)) == "not_prescriber"  # the patient
    assert _code(lambda: drafts.do_create_draft(charlie, paula.patient.pk)) == "not_found"  # outside the team


def test_an_unverified_doctor_cannot_sign(draft, alice):
    drafts.do_add_line(alice, draft.pk, line())
    alice.professional.verification = "unverified"
    alice.professional.save()
    alice.refresh_from_db()
    assert _code(lambda: signing.do_sign(alice, draft.pk)) == "not_prescriber"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (line("99999999"), "unknown_code"),
        (line("3400999999999"), "unknown_code"),
        (line("abc"), "unknown_code"),
        (line(WITHDRAWN), "withdrawn"),
        (line(quantity=0), "quantity"),
        (line(quantity=-2), "quantity"),
        (line(dose="0"), "dose"),
        (line(dose="-1"), "dose"),
        (line(dose="beaucoup"), "dose"),
        (line(duration_days=400), "duration"),
        (line(renewals=12), "renewals"),
        (line(non_substituable="PARCE QUE"), "non_substitution"),
        ({"kind": "free", "text": "  "}, "text"),
        ({"kind": "nothing"}, "kind"),
    ],
)
def test_bad_lines_are_refused(draft, alice, data, code):
    assert _code(lambda: drafts.do_add_line(alice, draft.pk, data)) == code
    assert not draft.lines.exists()


def test_a_line_by_cip13_by_substance_and_free_text(draft, alice):
    by_box = drafts.do_add_line(alice, draft.pk, line(DOLIPRANE_BOX, non_substituable="MTE"))
    inn = drafts.do_add_line(alice, draft.pk, {**line(PARACETAMOL), "kind": "substance"})
    free = drafts.do_add_line(alice, draft.pk, {"kind": "free", "text": "Soins infirmiers à domicile"})
    assert by_box.content["cis"] == DOLIPRANE and by_box.content["cip13"] == DOLIPRANE_BOX
    assert inn.content["substance_code"] == PARACETAMOL and inn.content["label"] == "PARACÉTAMOL"
    assert free.content["text"] == "Soins infirmiers à domicile"
    with connection.cursor() as cursor:
        cursor.execute("SELECT content_json FROM prescriptions_prescriptionline")
        stored = " ".join(str(row[0]) for row in cursor.fetchall())
    assert "PARAC" not in stored and "infirmiers" not in stored  # encrypted at rest
    codes = {f.code for f in checks.check(draft)}
    assert "duplicate" in codes  # paracetamol twice


def test_posology_sentence_in_french_and_in_words():
    p = posology.clean({"dose": "1", "unit": "comprimé", "times": 3, "duration_days": 7, "route": "orale",
                        "timing": "au cours des repas"})  # fmt: skip
    assert posology.sentence(p) == "1 comprimé 3 fois par jour, par voie orale, au cours des repas, pendant 7 jours."
    assert "pendant 21 (vingt-et-un) jours" in posology.sentence({**p, "duration_days": 21}, words=True)
    assert posology.in_words(80) == "quatre-vingts" and posology.in_words(71) == "soixante-et-onze"
    assert posology.in_words(200) == "deux-cents" and posology.in_words(1999).startswith("mille-neuf-cent")


def test_a_stupefiant_beyond_its_maximum_duration_cannot_be_signed(draft, alice):
    drafts.do_add_line(alice, draft.pk, line(MORPHINE, duration_days=60))
    findings = checks.check(draft)
    assert any(f.code == "max_duration" and f.level == checks.BLOCKING for f in findings)
    assert _code(lambda: signing.do_sign(alice, draft.pk)) == "blocked"
    draft.lines.all().delete()
    drafts.do_add_line(alice, draft.pk, line(MORPHINE, duration_days=28, quantity=2))
    signed = signing.do_sign(alice, draft.pk)
    assert signed.valid_until == timezone.localdate(signed.signed_at) + dt.timedelta(days=3)  # a stupéfiant: 3 days


def test_a_stupefiant_cannot_be_renewed(draft, alice):
    drafts.do_add_line(alice, draft.pk, line(MORPHINE, duration_days=14, renewals=1))
    assert "stupefiant_renewal" in {f.code for f in checks.blocking(checks.check(draft), overridden=True)}


def test_a_hospital_only_product_is_refused_from_a_practice(draft, alice):
    drafts.do_add_line(alice, draft.pk, line(HOSPITAL))
    assert _code(lambda: signing.do_sign(alice, draft.pk)) == "blocked"


def test_an_empty_draft_cannot_be_signed(draft, alice):
    assert _code(lambda: signing.do_sign(alice, draft.pk)) == "empty"


def test_signing_makes_it_immutable_files_it_and_tells_the_patient(signed, alice, paula):
    assert signed.status == Prescription.Status.SIGNED and signed.valid_until > timezone.localdate(signed.signed_at)
    assert signed.document.visible_to_patient and signed.document.doc_type == "ordonnance"
    assert _code(lambda: drafts.do_add_line(alice, signed.pk, line())) == "not_draft"
    assert _code(lambda: signing.do_sign(alice, signed.pk)) == "not_draft"
    entry = AuditEntry.objects.filter(action=purposes.SIGNED).get()
    assert entry.patient_id == paula.patient.pk
    from cordee.messaging.models import Attachment

    assert Attachment.objects.filter(conversation__patient_id=paula.patient.pk, conversation__kind="patient").exists()


def test_qr_payload_carries_only_initials_and_birth_year(signed, paula):
    lines = list(signed.lines.all())
    payload = signing.qr_payload(signed, lines, timezone.localdate(signed.signed_at))
    assert payload["pi"] == "PB" and payload["py"] == 1985 and payload["id"] == signed.number
    assert payload["l"] == [{"c": f"cis:{DOLIPRANE}", "q": 2, "r": 0}]  # the free line is not in it
    assert "Paula" not in str(payload) and "BERNARD" not in str(payload)


def test_who_sees_a_prescription(signed, alice, bob, charlie, paula, sam):
    for user in (alice, bob, paula, sam):
        assert access.access_prescription(user, signed.pk, purpose=purposes.VIEW)[0] == signed
    for raw in (signed.pk, "junk", 10**20):
        with pytest.raises(Http404):
            access.access_prescription(charlie, raw, purpose=purposes.VIEW)
    assert AuditEntry.objects.filter(action="access.refused", actor_id=charlie.pk).count() == 3
    reads = AuditEntry.objects.filter(action=purposes.READ, patient_id=paula.patient.pk)
    assert reads.count() == 4


def test_a_draft_is_seen_by_its_prescriber_only(draft, bob, paula):
    for user in (bob, paula):
        with pytest.raises(Http404):
            access.access_prescription(user, draft.pk, purpose=purposes.VIEW)


def test_cancel_needs_a_reason_and_the_prescriber(signed, alice, bob):
    assert _code(lambda: lifecycle.do_cancel(alice, signed.pk, reason=" ")) == "reason"
    assert _code(lambda: lifecycle.do_cancel(bob, signed.pk, reason="erreur")) == "not_found"
    cancelled = lifecycle.do_cancel(alice, signed.pk, reason="Erreur de posologie")
    assert cancelled.status == Prescription.Status.CANCELLED and cancelled.cancel_reason == "Erreur de posologie"
    assert AuditEntry.objects.filter(action=purposes.CANCELLED).count() == 1
    assert _code(lambda: lifecycle.do_cancel(alice, signed.pk, reason="encore")) == "not_cancellable"


def test_renew_copies_the_lines_into_a_new_draft(signed, alice):
    renewed = lifecycle.do_renew(alice, signed.pk)
    assert renewed.is_draft and renewed.renewed_from == signed
    assert [x.content for x in renewed.lines.all()] == [x.content for x in signed.lines.all()]
    assert AuditEntry.objects.filter(action=purposes.RENEWED).count() == 1


def test_expiry_after_three_months(signed):
    signed.valid_until = dt.date(2020, 1, 1)
    assert signed.is_expired and signed.shown_status == "expired"
