"""PAdES: what validates, what breaks a signature, and bad input (never a 500)."""

from __future__ import annotations

import io
import re

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from cordee.audit.models import AuditEntry
from cordee.signing import keys
from cordee.signing.errors import InvalidPdf, NotAllowedToSign
from cordee.signing.pades import sign_pdf, validate_pdf
from tests.signing.pdfs import one_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(alice):
    return sign_pdf(one_page(), alice, reason="Prescription")


def _byte_range(pdf: bytes) -> tuple[int, int, int, int]:
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert match
    return tuple(int(value) for value in match.groups())  # type: ignore[return-value]  # four numbers


def _broken(pdf: bytes, at: int) -> bytes:
    changed = bytearray(pdf)
    changed[at] = ord("0") if changed[at] != ord("0") else ord("1")
    return bytes(changed)


def _verdict_or_refusal(pdf: bytes) -> bool:
    """True when the PDF validates; a PDF damaged past reading counts as not validating."""
    try:
        return validate_pdf(pdf).valid
    except InvalidPdf:
        return False


def test_a_changed_character_of_the_text_breaks_the_signature(signed):
    at = signed.index(b"Ordonnance de test")
    result = validate_pdf(signed[:at] + b"Ordonnance de fest" + signed[at + 18 :])
    assert not result.valid and not result.intact
    assert "changed" in (result.problem or "")


def test_any_changed_byte_in_the_signed_ranges_breaks_it(signed):
    start1, length1, start2, length2 = _byte_range(signed)
    positions = [length1 // 4, length1 // 2, length1 - 20, start2 + 5, start2 + length2 // 2, start2 + length2 - 30]
    for at in positions:
        assert not _verdict_or_refusal(_broken(signed, at)), f"byte {at} changed and the PDF still validates"


def test_an_appended_update_changing_the_content_breaks_it(signed):
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    stream = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 100 Td (Morphine 100 mg) Tj ET"))
    writer.add_stream_to_page(0, stream)
    output = io.BytesIO()
    writer.write(output)
    result = validate_pdf(output.getvalue())
    assert result.intact and result.trusted  # the signed revision itself is untouched...
    assert (
        not result.valid and result.problem == "The document was modified after it was signed."
    )  # ...but not the file


def test_a_pdf_signed_under_another_ca_is_untrusted(alice, settings, tmp_path):
    default_ca = settings.SIGNING_CA_PATH
    settings.SIGNING_CA_PATH = tmp_path / "other-ca.pem"
    keys.create_ca(settings.SIGNING_CA_PATH, "Another deployment")
    foreign = sign_pdf(one_page(), alice, reason="Prescription")
    assert validate_pdf(foreign).valid  # under its own CA it validates
    settings.SIGNING_CA_PATH = default_ca
    result = validate_pdf(foreign)
    assert result.intact and not result.trusted and not result.valid
    assert "CA" in (result.problem or "")


def test_the_old_ca_stays_trusted_when_listed_after_a_rotation(alice, settings, tmp_path):
    old = sign_pdf(one_page(), alice, reason="Prescription")
    old_ca = tmp_path / "old-ca.pem"
    old_ca.write_text(keys.current_ca().certificate_pem())
    settings.SIGNING_CA_PATH = tmp_path / "new-ca.pem"
    keys.create_ca(settings.SIGNING_CA_PATH, "Cordée")
    assert not validate_pdf(old).trusted
    settings.SIGNING_TRUSTED_CA_PATHS = [old_ca]
    assert validate_pdf(old).valid
    assert validate_pdf(sign_pdf(one_page(), alice, reason="Prescription")).valid  # re-issued under the new CA


@pytest.mark.parametrize(
    "junk",
    [b"", b"hello", b"\x00" * 100, b"%PDF-1.7\n garbage garbage", b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n%%EOF"],
)
def test_junk_is_a_clear_error_for_both(alice, junk):
    with pytest.raises(InvalidPdf):
        validate_pdf(junk)
    with pytest.raises(InvalidPdf):
        sign_pdf(junk, alice, reason="x")
    assert not AuditEntry.objects.filter(action="signing.pdf_signed").exists()


def test_a_truncated_signed_pdf_is_refused_or_invalid(signed):
    assert not _verdict_or_refusal(signed[: len(signed) // 2])
    assert not _verdict_or_refusal(signed[:-200])


def test_an_unsigned_pdf_is_not_valid():
    result = validate_pdf(one_page())
    assert not result.valid and result.problem == "The document carries no signature."


def test_a_signed_pdf_takes_no_second_signature(alice, bob, signed):
    """A prescription is signed once: the same field is refused; a signature added in another field
    is a change after the first one (strict policy: only validation data may be appended)."""
    with pytest.raises(InvalidPdf):
        sign_pdf(signed, alice, reason="again")
    cosigned = sign_pdf(signed, bob, reason="Seen", field_name="Signature2")
    result = validate_pdf(cosigned)
    assert not result.valid and result.signer_rpps == alice.professional.rpps
    assert result.problem == "The document was modified after it was signed."


def test_an_unverified_professional_or_an_inactive_one_may_not_sign(charlie, alice):
    charlie.professional.verification = "unverified"
    charlie.professional.save(update_fields=["verification"])
    with pytest.raises(NotAllowedToSign, match="verified"):
        sign_pdf(one_page(), charlie, reason="x")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    with pytest.raises(NotAllowedToSign):
        sign_pdf(one_page(), alice, reason="x")
    assert not AuditEntry.objects.filter(action__startswith="signing.").exists()


def test_an_anonymous_user_may_not_sign():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAllowedToSign):
        sign_pdf(one_page(), AnonymousUser(), reason="x")
