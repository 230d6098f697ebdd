"""DICOMweb: STOW-RS in, WADO-RS out (metadata, rendered, the viewer's values)."""

from __future__ import annotations

import io

import pydicom
import pytest
from django.core.management import CommandError, call_command

from cordee.audit.models import AuditEntry
from cordee.imaging import dicom
from cordee.imaging.models import Instance, Source, Study
from cordee.imaging.services.ingest import do_ingest
from tests.conftest import login_as
from tests.imaging.conftest import VALID, palette, shared, variant

pytestmark = pytest.mark.django_db


def _multipart(files: list[bytes], boundary: str = "cordee-boundary") -> bytes:
    body = b""
    for data in files:
        body += f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


STOW_TYPE = 'multipart/related; type="application/dicom"; boundary=cordee-boundary'
OCTET_FRAMES = "multipart/related; type=application/octet-stream; transfer-syntax=*"


def test_stow_stores_and_reports(client, alice, paula, structure):
    login_as(client, alice)
    body = _multipart([variant(ins=paula.patient.ins), variant(), shared("no_meta.dcm")])
    response = client.post("/dicomweb/studies", body, content_type=STOW_TYPE)
    assert response.status_code == 202 and response["Cache-Control"] == "no-store, private"
    result = response.json()
    assert len(result["00081199"]["Value"]) == 2 and len(result["00081198"]["Value"]) == 1
    matched, waiting = Study.objects.order_by("pk")
    assert matched.patient_id == paula.patient.pk and matched.source == "stow"
    assert waiting.patient_id is None and waiting.structure_id == structure.pk


def test_stow_refuses_anything_but_multipart_related(client, alice):
    login_as(client, alice)
    for content_type in (
        "application/dicom",
        "multipart/form-data; boundary=x",
        'multipart/related; type="image/png"; boundary=x',
    ):
        response = client.post("/dicomweb/studies", b"x", content_type=content_type)
        assert response.status_code == 415, content_type
    assert not Instance.objects.exists()


def _add_sender(structure, name: str = "PACS-RADIO") -> str:
    out = io.StringIO()
    call_command("dicomweb_sender", "add", "--structure", str(structure.pk), name, stdout=out)
    return next(line for line in out.getvalue().splitlines() if line.startswith("cdw_"))


def test_a_system_pushes_with_its_token_into_its_structures_inbox(client, paula, structure):
    """A PACS has no session: its bearer token (made by ``manage.py dicomweb_sender``, stored as a
    SHA-256 only) lets it STOW studies into its structure's inbox — or with the patient its INS
    names — shown with its name as a C-STORE's AE title would be; audited without an actor."""
    token = _add_sender(structure)
    from cordee.imaging.models import Sender

    sender = Sender.objects.get()
    assert token not in str(Sender.objects.values_list().get()) and sender.token_sha256 != token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = _multipart([variant(ins=paula.patient.ins), variant()])
    response = client.post("/dicomweb/studies", body, content_type=STOW_TYPE, **auth)
    assert response.status_code == 200, response.content
    matched, waiting = Study.objects.order_by("pk")
    assert matched.patient_id == paula.patient.pk
    assert waiting.patient_id is None and waiting.structure_id == structure.pk and waiting.calling_ae == "PACS-RADIO"
    stored = AuditEntry.objects.filter(action="imaging.instance.stored")
    assert stored.count() == 2 and {e.actor_id for e in stored} == {None}
    assert {e.details["calling_ae"] for e in stored} == {"PACS-RADIO"}
    assert AuditEntry.objects.filter(action="imaging.sender.added").count() == 1
    sender.refresh_from_db()
    assert sender.last_used_at is not None
    # The token opens STOW-RS only: reading a study with it is an anonymous request.
    metadata = client.get(f"/dicomweb/studies/{matched.study_uid}/metadata", **auth)
    assert metadata.status_code == 302
    # Revoked: refused at once, audited, nothing stored.
    call_command("dicomweb_sender", "revoke", "PACS-RADIO", stdout=io.StringIO())
    refused = client.post("/dicomweb/studies", _multipart([variant()]), content_type=STOW_TYPE, **auth)
    assert refused.status_code == 401 and refused["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert Study.objects.count() == 2
    assert AuditEntry.objects.filter(action="imaging.sender.refused", outcome="denied").count() == 1


def test_wrong_tokens_and_sender_names(client, structure, alice):
    _add_sender(structure)
    for header in ("Bearer cdw_guessed", "Bearer ", "Basic YWxpY2U6eA==", "Bearer " + "x" * 50):
        response = client.post(
            "/dicomweb/studies", _multipart([variant()]), content_type=STOW_TYPE, HTTP_AUTHORIZATION=header
        )
        assert response.status_code == 401, header
        assert "cdw_" not in response.content.decode()
    # A signed-in professional with a wrong token is refused too: the token is what was presented.
    login_as(client, alice)
    response = client.post(
        "/dicomweb/studies", _multipart([variant()]), content_type=STOW_TYPE, HTTP_AUTHORIZATION="Bearer cdw_x"
    )
    assert response.status_code == 401
    assert not Instance.objects.exists()
    for name in ("", "x" * 17, "PACS\\1", "PACS-RADIO", "PACS é"):
        with pytest.raises(CommandError):
            call_command("dicomweb_sender", "add", "--structure", str(structure.pk), name, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("dicomweb_sender", "add", "--structure", "987654", "OTHER", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("dicomweb_sender", "revoke", "NOBODY", stdout=io.StringIO())
    listing = io.StringIO()
    call_command("dicomweb_sender", "list", stdout=listing)
    assert "PACS-RADIO" in listing.getvalue() and "never used" in listing.getvalue()


def test_stow_anonymous_and_patients(client, paula):
    assert client.post("/dicomweb/studies", _multipart([variant()]), content_type=STOW_TYPE).status_code == 404
    login_as(client, paula)
    assert client.post("/dicomweb/studies", _multipart([variant()]), content_type=STOW_TYPE).status_code == 404
    assert not Instance.objects.exists()


def _urls(instance: Instance) -> str:
    return (
        f"/dicomweb/studies/{instance.study.study_uid}/series/{instance.series.series_uid}"
        f"/instances/{instance.sop_instance_uid}/frames/1"
    )


def test_rendered_frames_of_every_sample(client, alice, paula):
    """Every valid shared file with pixels renders as a PNG (the series thumbnails, ``rendered``)."""
    login_as(client, alice)
    for name in VALID:
        stored = do_ingest(variant(name), by=alice, source=Source.UPLOAD, patient=paula.patient)
        if not stored.instance.frames:
            continue
        rendered = client.get(_urls(stored.instance) + "/rendered?window=40,400&viewport=64")
        assert rendered.status_code == 200 and rendered.content.startswith(b"\x89PNG"), name
        assert rendered["Cache-Control"] == "no-store, private"


def test_metadata_and_one_audit_entry_per_study_and_session(client, alice, paula):
    study_uid = "1.2.826.0.1.3680043.8.498.99"
    for _ in range(2):
        do_ingest(variant(study=study_uid), by=alice, source=Source.UPLOAD, patient=paula.patient)
    login_as(client, alice)
    response = client.get(f"/dicomweb/studies/{study_uid}/metadata")
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom+json"
    items = response.json()
    assert len(items) == 2 and "7FE00010" not in items[0] and items[0]["0020000D"]["Value"] == [study_uid]
    for instance in Instance.objects.filter(study__study_uid=study_uid):
        assert client.get(_urls(instance), HTTP_ACCEPT=OCTET_FRAMES).status_code == 200
    entries = AuditEntry.objects.filter(action="imaging.study.frames")
    assert entries.count() == 1 and entries.get().details["instances"] == 2


def test_outsiders_and_missing_get_the_same_404(client, alice, charlie, paula):
    stored = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient)
    login_as(client, charlie)
    url = _urls(stored.instance)
    for path in (
        f"/dicomweb/studies/{stored.study.study_uid}/metadata",
        url,
        url + "/rendered",
        "/dicomweb/studies/1.2.3.4/metadata",
    ):
        assert client.get(path).status_code == 404, path
    assert not AuditEntry.objects.filter(action="imaging.study.frames").exists()
    client.logout()
    assert client.get(url).status_code == 302


def test_no_preview_and_bad_frame_numbers(client, alice, paula):
    ds = pydicom.dcmread(io.BytesIO(variant()))
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.201"
    ds.PixelData = pydicom.encaps.encapsulate([ds.PixelData])
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    stored = do_ingest(out.getvalue(), by=alice, source=Source.UPLOAD, patient=paula.patient)
    login_as(client, alice)
    assert client.get(_urls(stored.instance)).status_code == 404  # stored, flagged: no frame to send
    page = client.get(f"/imagerie/etude/{stored.study.pk}/")
    assert page.status_code == 200 and "no-preview" in page.content.decode()
    ok = do_ingest(variant(), by=alice, source=Source.UPLOAD, patient=paula.patient)
    assert client.get(_urls(ok.instance).replace("/frames/1", "/frames/2")).status_code == 404


def test_retrieve_instance(client, alice, charlie, paula):
    from cordee.imaging.dicomweb import boundary_of, parts

    data = variant()
    stored = do_ingest(data, by=alice, source=Source.UPLOAD, patient=paula.patient)
    url = _urls(stored.instance).removesuffix("/frames/1")
    login_as(client, alice)
    response = client.get(url)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store, private"
    assert parts(response.content, boundary_of(response["Content-Type"])) == [data]
    login_as(client, charlie)
    assert client.get(url).status_code == 404


def test_stow_body_larger_than_djangos_form_limit(client, alice, paula, settings):
    login_as(client, alice)
    body = _multipart([variant(ins=paula.patient.ins) for _ in range(70)])
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post("/dicomweb/studies", body, content_type=STOW_TYPE)
    assert response.status_code == 200 and len(response.json()["00081199"]["Value"]) == 70


def _single_part(response) -> tuple[str, bytes]:
    """The content type and body of the one part of a RetrieveFrames answer."""
    boundary = response["Content-Type"].split("boundary=")[1]
    body = response.content
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(f"\r\n--{boundary}--\r\n".encode())
    head, _sep, rest = body[len(boundary) + 4 :].partition(b"\r\n\r\n")
    return head.decode().removeprefix("Content-Type: "), rest[: -len(boundary) - 8]


def test_frames_are_the_stored_frames_in_their_transfer_syntax(client, alice, paula):
    """RetrieveFrames, as the Cornerstone3D viewer asks for it: a compressed frame exactly as stored
    (pydicom's fragments of that frame) with its transfer syntax; a native frame as the
    little-endian bytes of pydicom's decode (big endian swapped, deflated inflated)."""
    login_as(client, alice)
    seen = set()
    for name in VALID:
        data = variant(name)
        stored = do_ingest(data, by=alice, source=Source.UPLOAD, patient=paula.patient)
        if not stored.instance.frames:
            continue
        ds = pydicom.dcmread(io.BytesIO(data))
        frames = dicom.number_of_frames(ds)
        last = frames  # the last frame too: offsets past the first are where slicing goes wrong
        for n in sorted({1, last}):
            response = client.get(_urls(stored.instance).replace("/frames/1", f"/frames/{n}"), HTTP_ACCEPT=OCTET_FRAMES)
            assert response.status_code == 200, name
            assert response["Cache-Control"] == "no-store, private"
            part_type, payload = _single_part(response)
            syntax = pydicom.uid.UID(ds.file_meta.TransferSyntaxUID)
            if syntax.is_encapsulated and syntax not in dicom.DECODED_FOR_THE_VIEWER:
                assert part_type == f"application/octet-stream; transfer-syntax={syntax}", name
                assert payload == pydicom.encaps.get_frame(ds.PixelData, n - 1, number_of_frames=frames), name
            else:
                assert part_type == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", name
                decoded = ds.pixel_array if frames == 1 else ds.pixel_array[n - 1]
                assert payload == decoded.astype(decoded.dtype.newbyteorder("<")).tobytes(), name
            seen.add(str(syntax))
    assert {"1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5"} <= seen
    assert "1.2.840.10008.1.2.4.51" in seen  # JPEG Extended: sent as its pylibjpeg decode


def test_frames_negotiation_and_refusals(client, alice, charlie, paula):
    stored = do_ingest(variant("MR_small_RLE.dcm"), by=alice, source=Source.UPLOAD, patient=paula.patient)
    url = _urls(stored.instance)
    login_as(client, alice)
    for accept in (
        "",
        "*/*",
        "multipart/related",
        'multipart/related; type="application/octet-stream"',
        "multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2.5",
        "image/jpeg, multipart/related; type=application/octet-stream",
    ):
        assert client.get(url, HTTP_ACCEPT=accept).status_code == 200, accept
    for accept in (
        "image/jpeg",
        "multipart/related; type=image/jpeg",
        "multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1",
    ):
        refused = client.get(url, HTTP_ACCEPT=accept)
        assert refused.status_code == 406 and refused.json()["code"] == "not_acceptable", accept
    assert client.get(url.replace("/frames/1", "/frames/2"), HTTP_ACCEPT=OCTET_FRAMES).status_code == 404
    assert client.get(url.replace("/frames/1", "/frames/0"), HTTP_ACCEPT=OCTET_FRAMES).status_code == 404
    login_as(client, charlie)
    assert client.get(url, HTTP_ACCEPT=OCTET_FRAMES).status_code == 404
    client.logout()
    assert client.get(url, HTTP_ACCEPT=OCTET_FRAMES).status_code == 302


def test_frames_of_an_instance_decrypt_it_once(client, alice, paula, monkeypatch):
    """Scrolling a multi-frame instance: its ten frames read the vault once (the decrypted instance
    is kept a minute), and still pass the access check each time (an outsider gets the 404)."""
    from cordee.imaging import dicomweb

    dicomweb.decrypted.clear()
    stored = do_ingest(variant("emri_small.dcm"), by=alice, source=Source.UPLOAD, patient=paula.patient)
    reads = []
    real = dicomweb.iter_blob
    monkeypatch.setattr(dicomweb, "iter_blob", lambda blob: reads.append(blob.pk) or real(blob))
    login_as(client, alice)
    for n in range(1, 11):
        url = _urls(stored.instance).replace("/frames/1", f"/frames/{n}")
        assert client.get(url, HTTP_ACCEPT=OCTET_FRAMES).status_code == 200
    assert len(reads) == 1
    dicomweb.decrypted.clear()
    assert client.get(_urls(stored.instance), HTTP_ACCEPT=OCTET_FRAMES).status_code == 200
    assert len(reads) == 2


def test_metadata_carries_palette_luts_inline(client, alice, paula):
    """A viewer that decodes in the browser colours a PALETTE COLOR frame from the metadata: the
    LUT data are inline (InlineBinary), the pixel data are not in the metadata."""
    stored = do_ingest(palette(), by=alice, source=Source.UPLOAD, patient=paula.patient)
    login_as(client, alice)
    item = client.get(f"/dicomweb/studies/{stored.study.study_uid}/metadata").json()[0]
    assert "7FE00010" not in item
    assert item["00281201"]["InlineBinary"]  # Red Palette Color Lookup Table Data
    assert item["00281101"]["Value"] == [256, 0, 16]


def test_guessed_sender_tokens_raise_a_failed_authentications_alert(client, structure, settings):
    """Twenty refused bearer tokens from one address: the same alert as twenty failed sign-ins
    from it, in the platform operator's queue (a guessed token names no structure)."""
    from cordee.security.models import Alert
    from cordee.security.services import do_detect

    _add_sender(structure)
    for n in range(settings.DETECT_FAILED_LOGINS_ADDRESS):
        response = client.post(
            "/dicomweb/studies",
            _multipart([b"x"]),
            content_type=STOW_TYPE,
            HTTP_AUTHORIZATION=f"Bearer cdw_guess{n}",
            REMOTE_ADDR="203.0.113.9",
        )
        assert response.status_code == 401
    do_detect()
    (alert,) = Alert.objects.filter(kind=Alert.Kind.FAILED_LOGINS_ADDRESS)
    assert alert.subject == "ip:203.0.113.9" and alert.structure is None
    assert len(alert.evidence) == settings.DETECT_FAILED_LOGINS_ADDRESS


def test_guessing_tokens_is_throttled_without_flooding_the_audit_trail(client, structure, monkeypatch):
    """Past REFUSED_PER_MINUTE refusals from one address, 429 with Retry-After, and no more audit
    entries; another address with the right token still pushes."""
    from types import SimpleNamespace

    from cordee.imaging.services import senders

    monkeypatch.setattr(senders, "REFUSED_PER_MINUTE", 3)
    # the refusals are counted per minute of the clock: one fixed moment, 30 s into a minute, so
    # that the count does not start again when a slow run crosses a minute (a CI failure)
    monkeypatch.setattr(senders, "time", SimpleNamespace(time=lambda: 1_796_000_010.0))
    token = _add_sender(structure)

    def post(header: str, ip: str):
        return client.post(
            "/dicomweb/studies",
            _multipart([variant()]),
            content_type=STOW_TYPE,
            HTTP_AUTHORIZATION=header,
            REMOTE_ADDR=ip,
        )

    statuses = [post(f"Bearer cdw_guess{n}", "198.51.100.4").status_code for n in range(6)]
    assert statuses[:3] == [401] * 3 and statuses[3:] == [429] * 3
    throttled = post(f"Bearer {token}", "198.51.100.4")  # even the right token, from that address, waits
    assert throttled.status_code == 429 and 1 <= int(throttled["Retry-After"]) <= 60
    assert AuditEntry.objects.filter(action="imaging.sender.refused").count() == 3
    assert post(f"Bearer {token}", "192.0.2.20").status_code == 200
