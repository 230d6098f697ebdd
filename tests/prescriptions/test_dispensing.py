"""The pharmacist: opening by number, dispensing per line (partial, generic, renewals), exactly once."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time

import pytest
from django.db import connections
from django.http import Http404

from cordee.audit.models import AuditEntry
from cordee.prescriptions import access, purposes
from cordee.prescriptions.models import Dispensation, Prescription, PrescriptionLine
from cordee.prescriptions.services import drafts, lifecycle, signing
from cordee.prescriptions.services.dispensing import Dispensing, do_dispense
from cordee.prescriptions.services.errors import PrescriptionError
from tests.conftest import postgres_run_only
from tests.prescriptions.conftest import DOLIPRANE, GENERIC_BOX, OTHER_BOX, PARACETAMOL, line
from tests.prescriptions.dispense_worker import dispense


def _code(call) -> str:
    with pytest.raises(PrescriptionError) as caught:
        call()
    return caught.value.code


def _drug_line(prescription: Prescription) -> PrescriptionLine:
    return prescription.lines.get(kind="product")


def test_a_pharmacist_opens_it_by_number_only(signed, phil, charlie, bob, paula):
    found = access.access_for_dispensing(phil, signed.number.lower().replace("-", " "))
    assert found == signed
    entry = AuditEntry.objects.filter(action=purposes.VERIFIED).get()
    assert entry.patient_id == paula.patient.pk and entry.details["basis"] == "pharmacist"
    for user, number in ((charlie, signed.number), (bob, signed.number), (phil, "RX-AAAA-AAAA-AAAA"), (phil, "junk")):
        with pytest.raises(Http404):
            access.access_for_dispensing(user, number)
    with pytest.raises(Http404):  # not by the internal id either: he is not in the care team
        access.access_prescription(phil, signed.pk, purpose=purposes.VIEW)


def test_a_draft_is_not_open_to_pharmacists(alice, paula, phil, drugs):
    draft = drafts.do_create_draft(alice, paula.patient.pk)
    with pytest.raises(Http404):
        access.access_for_dispensing(phil, draft.number)


def test_partial_then_full_dispensing(signed, phil):
    drug = _drug_line(signed)
    first = do_dispense(phil, signed.number, Dispensing(drug.pk, 1))
    assert first.cip13 == "" and not first.substituted
    assert Prescription.objects.get(pk=signed.pk).status == Prescription.Status.PARTIAL
    do_dispense(phil, signed.number, Dispensing(drug.pk, 1, GENERIC_BOX))  # a generic of its group
    assert Prescription.objects.get(pk=signed.pk).status == Prescription.Status.DISPENSED
    assert Dispensation.objects.filter(substituted=True).count() == 1
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, 1))) == "dispensed"
    entries = AuditEntry.objects.filter(action=purposes.DISPENSED)
    assert entries.count() == 2 and {e.patient_id for e in entries} == {signed.patient_id}
    assert AuditEntry.objects.filter(action=purposes.DISPENSE_REFUSED, details__reason="dispensed").count() == 1


def test_bad_dispensings_are_refused(signed, phil, alice):
    drug = _drug_line(signed)
    free = signed.lines.get(kind="free")
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, 0))) == "quantity"
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, -1))) == "quantity"
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, 3))) == "too_much"
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, 1, OTHER_BOX))) == "box"
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, 1, "123"))) == "box"
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(free.pk, 1))) == "free_line"
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(999999, 1))) == "line"
    assert _code(lambda: do_dispense(alice, signed.number, Dispensing(drug.pk, 1))) == "not_pharmacist"
    assert not Dispensation.objects.exists()


def test_cancelled_and_expired_prescriptions_are_not_dispensed(signed, phil, alice):
    drug = _drug_line(signed)
    Prescription.objects.filter(pk=signed.pk).update(valid_until=dt.date(2020, 1, 1))
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, 1))) == "expired"
    Prescription.objects.filter(pk=signed.pk).update(valid_until=dt.date(2100, 1, 1))
    lifecycle.do_cancel(alice, signed.pk, reason="Erreur")
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, 1))) == "cancelled"


def test_non_substitutable_line_takes_only_its_product(alice, paula, phil, drugs):
    draft = drafts.do_create_draft(alice, paula.patient.pk)
    drafts.do_add_line(alice, draft.pk, line(DOLIPRANE, non_substituable="MTE", quantity=1))
    signed = signing.do_sign(alice, draft.pk)
    drug = _drug_line(signed)
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, 1, GENERIC_BOX))) == "non_substituable"


def test_renewals_open_new_rounds(alice, paula, phil, drugs):
    draft = drafts.do_create_draft(alice, paula.patient.pk)
    drafts.do_add_line(alice, draft.pk, {**line(PARACETAMOL, quantity=1, renewals=2), "kind": "substance"})
    signed = signing.do_sign(alice, draft.pk)
    drug = signed.lines.get()
    for expected_round in range(3):
        given = do_dispense(phil, signed.number, Dispensing(drug.pk, 1, GENERIC_BOX))
        assert given.dispensing_round == expected_round
    assert Prescription.objects.get(pk=signed.pk).status == Prescription.Status.DISPENSED
    assert _code(lambda: do_dispense(phil, signed.number, Dispensing(drug.pk, 1))) == "dispensed"


def _race(signed: Prescription, phil, runner) -> list[str]:
    drug = _drug_line(signed)
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def dispenser() -> None:
        barrier.wait()
        try:
            do_dispense(phil, signed.number, Dispensing(drug.pk, 2))
            outcomes.append("ok")
        except PrescriptionError as error:
            outcomes.append(error.code)
        finally:
            connections.close_all()

    runner(dispenser)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_dispensers_one_success_threads(signed, phil):
    def run(target) -> None:
        workers = [threading.Thread(target=target) for _ in range(20)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    outcomes = _race(signed, phil, run)
    assert outcomes.count("ok") == 1, outcomes
    assert len(outcomes) == 20 and set(outcomes) - {"ok"} <= {"changed", "dispensed"}
    drug = _drug_line(signed)
    assert drug.dispensed_in_round == 2 and Dispensation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_dispensers_one_success_processes(signed, phil):
    postgres_run_only("dispensing from concurrent processes")
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    drug = _drug_line(signed)
    database = {"NAME": connections["default"].settings_dict["NAME"]}
    processes = [
        context.Process(target=dispense, args=(database, signed.number, phil.pk, drug.pk, start, results))
        for _ in range(20)
    ]
    for p in processes:
        p.start()
    time.sleep(1)  # let them connect; the event releases them together
    start.set()
    outcomes = [results.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(30)
    assert outcomes.count("ok") == 1, outcomes
    assert Dispensation.objects.count() == 1 and _drug_line(signed).dispensed_in_round == 2
