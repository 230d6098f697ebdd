"""The deployment PKI: certificates issued on first use, their content, their renewal, their sealed keys."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from django.db import connection, connections

from cordee.audit.models import AuditEntry
from cordee.signing import keys, pki
from cordee.signing.errors import NotAllowedToSign
from cordee.signing.models import SigningCertificate
from tests.conftest import postgres_run_only

pytestmark = pytest.mark.django_db


def _load(record: SigningCertificate) -> x509.Certificate:
    return x509.load_pem_x509_certificate(record.certificate_pem.encode())


def test_the_certificate_names_the_professional_and_may_only_sign(alice):
    certificate = _load(pki.certificate_for(alice))
    subject = certificate.subject
    assert subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "8" + alice.professional.rpps
    assert subject.get_attributes_for_oid(NameOID.TITLE)[0].value == "Médecin"
    assert subject.get_attributes_for_oid(NameOID.SURNAME)[0].value == alice.last_name
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == alice.display_name
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.content_commitment and usage.value.digital_signature
    assert not usage.value.key_cert_sign
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert dt.timedelta(days=3 * 365) <= lifetime <= dt.timedelta(days=3 * 365 + 1)
    assert certificate.issuer == keys.current_ca().certificate.subject
    certificate.verify_directly_issued_by(keys.current_ca().certificate)  # signed by the CA's key


def test_the_private_key_is_stored_only_encrypted(alice):
    record = pki.certificate_for(alice)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT private_key_pem, certificate_pem FROM signing_signingcertificate WHERE id = %s", [record.pk]
        )
        sealed, certificate = cursor.fetchone()
    assert b"PRIVATE KEY" not in bytes(sealed) and "BEGIN CERTIFICATE" in certificate
    assert SigningCertificate.objects.get(pk=record.pk).private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_a_new_certificate_when_the_ca_changes_the_name_changes_or_the_end_nears(alice, settings, tmp_path):
    first = pki.certificate_for(alice)
    alice.last_name = "Martin-Leroy"
    alice.save(update_fields=["last_name"])
    renamed = pki.certificate_for(alice)
    assert renamed.pk != first.pk and "Martin-Leroy" in renamed.subject
    SigningCertificate.objects.filter(pk=renamed.pk).update(not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=100))
    renewed = pki.certificate_for(alice)
    assert renewed.pk != renamed.pk
    settings.SIGNING_CA_PATH = tmp_path / "rotated-ca.pem"
    keys.create_ca(settings.SIGNING_CA_PATH, "Cordée")
    rotated = pki.certificate_for(alice)
    assert rotated.ca_fingerprint == keys.current_ca().fingerprint != renewed.ca_fingerprint
    assert list(SigningCertificate.objects.filter(user=alice, current=True)) == [rotated]
    assert SigningCertificate.objects.filter(user=alice).count() == 4
    issued = AuditEntry.objects.filter(action="signing.certificate_issued", actor_id=alice.pk).order_by("seq")
    assert [entry.details["serial"] for entry in issued] == [
        first.serial,
        renamed.serial,
        renewed.serial,
        rotated.serial,
    ]
    assert issued.last().details["replaces"] == renewed.serial


@pytest.mark.parametrize("who", ["paula", "sam", "ada", "otto"])
def test_only_verified_professionals_get_one(personas, who):
    with pytest.raises(NotAllowedToSign):
        pki.certificate_for(personas[who])
    assert not SigningCertificate.objects.exists()


def test_a_rejected_professional_gets_none(charlie):
    charlie.professional.verification = "rejected"
    charlie.professional.save(update_fields=["verification"])
    with pytest.raises(NotAllowedToSign, match="verified"):
        pki.certificate_for(charlie)


@pytest.mark.django_db(transaction=True)
def test_two_first_uses_at_once_issue_one_current_certificate(alice):
    postgres_run_only("concurrent first uses (the partial unique index under real concurrency)")
    results: list[object] = []
    barrier = threading.Barrier(4)

    def first_use() -> None:
        barrier.wait()
        try:
            results.append(pki.certificate_for(alice).pk)
        except Exception as exc:  # reported below
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert SigningCertificate.objects.filter(user=alice, current=True).count() == 1
    current = SigningCertificate.objects.get(user=alice, current=True).pk
    assert results == [current] * 4, results


def test_a_long_accented_name_fits_the_certificate(alice, settings):
    settings.SIGNING_ORGANIZATION = "Centre hospitalier intercommunal de Créteil-Villeneuve-Saint-Georges"
    alice.first_name, alice.last_name = "Marie-Hélène", "Éléonore-Béatrice de La Tour d'Auvergne-Lauraguais"
    alice.save(update_fields=["first_name", "last_name"])
    certificate = _load(pki.certificate_for(alice))
    common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(common_name, str) and 0 < len(common_name.encode()) <= 64
    assert alice.display_name.startswith(common_name)
