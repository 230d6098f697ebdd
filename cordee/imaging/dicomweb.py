"""DICOMweb endpoints of Cordée (PS3.18): STOW-RS in, WADO-RS out.

- ``POST /dicomweb/studies``: STOW-RS. Only ``multipart/related; type="application/dicom"``
  (anything else: 415). Each part goes through ``do_ingest`` (source "stow"); studies land with
  their patient when the files carry her INS, else in the inbox of the sender's structure. The
  answer is the PS3.18 JSON (Referenced / Failed SOP Sequence): 200 all stored, 202 some refused,
  409 none. CSRF: the view is exempt because a cross-site page cannot send this content type
  without a CORS preflight, which Cordée never grants; the session is still required. A system
  (PACS, modality gateway) authenticates instead with ``Authorization: Bearer <token>`` of a
  ``Sender`` (``manage.py dicomweb_sender``): its studies go to its structure's inbox; a token
  unknown or revoked answers 401 and is audited. The token opens STOW-RS only, no read.
- ``GET /dicomweb/studies/{study}/metadata``: the DICOM JSON of every instance (bulk data left out).
- ``GET …/series/{series}/instances/{sop}``: the instance (multipart/related, application/dicom).
- ``GET …/instances/{sop}/frames/{n}``: RetrieveFrames, the frame undecoded (``multipart/related;
  type="application/octet-stream"``, its transfer syntax in the part's content type): what the
  Cornerstone3D viewer decodes in the browser. Accept must allow that (406 otherwise).
- ``GET …/instances/{sop}/frames/{n}/rendered``: the frame as a PNG (``window=center,width``,
  ``viewport=size`` for thumbnails).

Files are decrypted on the fly, and kept decrypted in the process's memory for a minute
(``IMAGING_DECRYPTED_CACHE_*``) so that the frames of an instance being read decrypt it once;
every response is ``Cache-Control: no-store, private``; reads go
through ``access_study_frames`` (same 404 for missing and forbidden; one audit entry per study
and session, not per frame).
"""

from __future__ import annotations

import io
import re
import threading
import warnings
from typing import Any

import cachetools
import pydicom
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from cordee.accounts.models import Membership, Structure, User
from cordee.imaging import access, dicom
from cordee.imaging.dicom import DicomRefused
from cordee.imaging.models import Instance, Source
from cordee.imaging.services import senders
from cordee.imaging.services.ingest import do_ingest
from cordee.lib.http import AuthedRequest
from cordee.vault.blobs import iter_blob

NO_STORE = "no-store, private"
DICOM_JSON = "application/dicom+json"


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = NO_STORE
    return response


def _single_part(data: bytes, media_type: str, boundary: str, *, params: str = "") -> HttpResponse:
    """A ``multipart/related`` answer of one part (WADO-RS): ``media_type`` and its ``params`` name
    the part, and are repeated in the answer's own content type."""
    head = f"--{boundary}\r\nContent-Type: {media_type}{params}\r\n\r\n".encode()
    body = b"".join((head, data, f"\r\n--{boundary}--\r\n".encode()))
    content_type = f'multipart/related; type="{media_type}"{params}; boundary={boundary}'
    return _no_store(HttpResponse(body, content_type=content_type))


def _authed(request: HttpRequest) -> None:
    if not request.user.is_authenticated:
        raise Http404  # DICOMweb clients get no login page; the same 404 as a missing study


def boundary_of(content_type: str) -> str | None:
    main, _sep, params = content_type.partition(";")
    if main.strip().lower() != "multipart/related":
        return None
    match = re.search(r'boundary="?([^";]+)"?', params, re.IGNORECASE)
    kind = re.search(r'type="?([^";]+)"?', params, re.IGNORECASE)
    if match is None or (kind is not None and kind.group(1).strip().lower() != "application/dicom"):
        return None
    return match.group(1).strip()


def parts(body: bytes, boundary: str) -> list[bytes]:
    """The bodies of the parts of a multipart/related body (RFC 2046), headers dropped."""
    delimiter = b"--" + boundary.encode()
    found = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        found.append(content[:-2] if content.endswith(b"\r\n") else content)
    return found


@csrf_exempt  # see the module: a non-simple content type, checked before anything else
@require_POST
def stow(request: AuthedRequest) -> HttpResponse:
    try:
        sender = senders.sender_of(request)
    except senders.SenderRefused:
        response = JsonResponse({"detail": "Unknown or revoked token.", "code": "invalid_token"}, status=401)
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return _no_store(response)
    except senders.SenderThrottled as throttled:
        response = JsonResponse({"detail": "Too many refused tokens: wait.", "code": "throttled"}, status=429)
        response["Retry-After"] = str(throttled.wait)
        return _no_store(response)
    if sender is None:
        _authed(request)
    boundary = boundary_of(request.headers.get("Content-Type", ""))
    if boundary is None:
        return _no_store(
            JsonResponse(
                {"detail": 'STOW-RS takes multipart/related; type="application/dicom" only.', "code": "unsupported"},
                status=415,
            )
        )
    structure: Structure | None
    if sender is not None:  # a system: its structure's inbox, its name where an AE title would be
        by, structure, calling = None, sender.structure, sender.name
    else:
        if request.user.kind != User.Kind.PROFESSIONAL:
            raise Http404
        membership = Membership.objects.filter(user=request.user).order_by("pk").first()
        by, structure, calling = request.user, membership.structure if membership else None, ""
    referenced: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    body = request.read(settings.REQUEST_MAX_BYTES + 1)  # the stream: request.body stops at 2.5 MB
    for part in parts(body, boundary):
        try:
            stored = do_ingest(
                part, by=by, source=Source.STOW, structure=structure, calling_ae=calling, request=request
            )
        except DicomRefused as refusal:
            failed.append({"00081197": {"vr": "US", "Value": [0xC000]}, "code": refusal.code})
            continue
        referenced.append(
            {
                "00081150": {"vr": "UI", "Value": [stored.instance.sop_class_uid]},
                "00081155": {"vr": "UI", "Value": [stored.instance.sop_instance_uid]},
            }
        )
    result: dict[str, Any] = {}
    if referenced:
        result["00081199"] = {"vr": "SQ", "Value": referenced}
    if failed:
        result["00081198"] = {"vr": "SQ", "Value": [{k: v for k, v in f.items() if k != "code"} for f in failed]}
    status = 200 if referenced and not failed else (202 if referenced else 409)
    return _no_store(JsonResponse(result, status=status, content_type=DICOM_JSON))


class DecryptedInstances:
    """Decrypted instances of this process, for ``IMAGING_DECRYPTED_CACHE_SECONDS`` within
    ``IMAGING_DECRYPTED_CACHE_BYTES``: scrolling a series or playing a cine asks for the frames of
    an instance one by one, and each request would otherwise decrypt the whole file again. Keyed by
    the blob's random UUID (a re-encrypted instance has a new blob); read only after the request
    passed ``access_study_frames``, so the cache never answers anyone the database would not."""

    def __init__(self, max_bytes: int, seconds: int) -> None:
        self._lock = threading.Lock()
        self._max_bytes = max_bytes
        self._entries: cachetools.TTLCache[Any, bytes] = cachetools.TTLCache(
            maxsize=max(max_bytes, 1), ttl=seconds, getsizeof=len
        )

    def get(self, instance: Instance) -> bytes:
        key = instance.blob_id
        with self._lock:
            data = self._entries.get(key)
        if data is None:
            data = b"".join(iter_blob(instance.blob))
            if 0 < len(data) <= self._max_bytes:
                with self._lock:
                    self._entries[key] = data
        return data

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


decrypted = DecryptedInstances(settings.IMAGING_DECRYPTED_CACHE_BYTES, settings.IMAGING_DECRYPTED_CACHE_SECONDS)


def _dataset(instance: Instance) -> Any:
    data = decrypted.get(instance)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data))


@login_required
@require_GET
def metadata(request: AuthedRequest, study_uid: str) -> HttpResponse:
    study, _basis = access.access_study_frames(request.user, study_uid, request=request)
    out = []
    for instance in Instance.objects.filter(study=study).select_related("blob").order_by("series_id", "number", "pk"):
        dataset = _dataset(instance)
        for pixels in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"):
            if pixels in dataset:
                delattr(dataset, pixels)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Inline up to 1 MiB: a viewer needs the palette colour LUTs (up to 3 × 128 KiB) in here.
            item = dataset.to_json_dict(bulk_data_threshold=1024 * 1024, bulk_data_element_handler=lambda _e: "")
        out.append(item)
    return _no_store(JsonResponse(out, safe=False, content_type=DICOM_JSON))


@login_required
@require_GET
def instance(request: AuthedRequest, study_uid: str, series_uid: str, sop_uid: str) -> HttpResponse:
    """WADO-RS RetrieveInstance: the file, decrypted, as ``multipart/related; type="application/dicom"``."""
    study, _basis = access.access_study_frames(request.user, study_uid, request=request)
    found = access.instance_of(study, series_uid, sop_uid)
    boundary = "cordee-" + found.sop_instance_uid.replace(".", "")[-24:]
    return _single_part(b"".join(iter_blob(found.blob)), "application/dicom", boundary)


def _frame(request: AuthedRequest, study_uid: str, series_uid: str, sop_uid: str, frame: int) -> tuple[Any, int]:
    study, _basis = access.access_study_frames(request.user, study_uid, request=request)
    instance = access.instance_of(study, series_uid, sop_uid)
    if not instance.previewable or not 1 <= frame <= instance.frames:
        raise Http404
    return _dataset(instance), frame - 1


def _accepts_octet_frames(accept: str, syntax: str) -> bool:
    """Whether an Accept header admits ``multipart/related; type="application/octet-stream"`` in
    ``syntax`` (PS3.18 8.7.3.5): no header, */*, multipart/*, or multipart/related whose ``type``
    (if any) is application/octet-stream and whose ``transfer-syntax`` (if any) is * or ``syntax``."""
    if not accept.strip():
        return True
    for media_range in accept.split(","):
        main, *params = (part.strip() for part in media_range.split(";"))
        values = {k.strip().lower(): v.strip().strip('"') for k, _eq, v in (p.partition("=") for p in params)}
        if main in ("*/*", "multipart/*"):
            return True
        if main.lower() != "multipart/related":
            continue
        if values.get("type", "application/octet-stream").lower() not in ("application/octet-stream", "*/*"):
            continue
        if values.get("transfer-syntax", "*") in ("*", syntax):
            return True
    return False


@login_required
@require_GET
def frames(request: AuthedRequest, study_uid: str, series_uid: str, sop_uid: str, frame: int) -> HttpResponse:
    """RetrieveFrames: one frame, undecoded, as the single part of a multipart/related answer."""
    dataset, index = _frame(request, study_uid, series_uid, sop_uid, frame)
    try:
        data, syntax = dicom.raw_frame(dataset, index)
    except dicom.FrameError:
        raise Http404 from None
    if not _accepts_octet_frames(request.headers.get("Accept", ""), syntax):
        offered = f'multipart/related; type="application/octet-stream"; transfer-syntax={syntax}'
        detail = f"This frame is available as {offered}."
        return _no_store(JsonResponse({"detail": detail, "code": "not_acceptable"}, status=406))
    boundary = f"cordee-frame-{index + 1}-{sop_uid.replace('.', '')[-16:]}"
    return _single_part(data, "application/octet-stream", boundary, params=f"; transfer-syntax={syntax}")


def _window(text: str) -> tuple[float | None, float | None]:
    try:
        center, width = (float(v) for v in text.split(",")[:2])
        return center, max(width, 1.0)
    except ValueError:
        return None, None


@login_required
@require_GET
def rendered(request: AuthedRequest, study_uid: str, series_uid: str, sop_uid: str, frame: int) -> HttpResponse:
    dataset, index = _frame(request, study_uid, series_uid, sop_uid, frame)
    center, width = _window(request.GET.get("window", ""))
    try:
        size = max(0, min(int(request.GET.get("viewport", "0") or 0), 2048))
    except ValueError:
        size = 0
    try:
        png = dicom.render_png(dataset, index, center=center, width=width, size=size)
    except dicom.FrameError:
        raise Http404 from None
    return _no_store(HttpResponse(png, content_type="image/png"))
