"""The DICOM C-STORE receiver (``manage.py dicom_receiver``), with pynetdicom.

- Its AE title, address and port come from settings (``DICOM_AE_TITLE``, ``DICOM_BIND_ADDRESS``,
  ``DICOM_PORT``); it accepts associations only from the calling AE titles of
  ``DICOM_CALLING_AE_TITLES`` (``TITLE=structure id``: whose inbox receives what that device sends);
  any other is rejected at association (permanent rejection, "calling AE title not recognised").
- C-ECHO answers success. C-STORE stores the instance through ``do_ingest`` (validated, encrypted,
  indexed, audited, committed) *before* answering success; a refused file answers 0xA900/0xC000
  (the DICOM "cannot understand" / "processing failure" statuses); a duplicate answers success (the
  instance is already stored once).
- Handlers run in pynetdicom's threads: each closes its database connection when done.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from pydicom.filewriter import write_file_meta_info
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]  # generated at import

from cordee.accounts.models import Structure
from cordee.imaging.dicom import DicomRefused
from cordee.imaging.models import Source
from cordee.imaging.services.ingest import do_ingest

log = logging.getLogger(__name__)
SUCCESS, CANNOT_UNDERSTAND, PROCESSING_FAILURE, OUT_OF_RESOURCES = 0x0000, 0xC000, 0x0110, 0xA700


def calling_titles() -> dict[str, int]:
    titles = {}
    for item in settings.DICOM_CALLING_AE_TITLES:
        title, sep, structure = item.partition("=")
        if not sep or not structure.strip().isdigit() or not title.strip():
            raise ImproperlyConfigured(f"DICOM_CALLING_AE_TITLES: {item!r} is not TITLE=structure id")
        titles[title.strip()] = int(structure)
    return titles


def _part10(event: Any) -> bytes:
    import io

    out = io.BytesIO()
    out.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(out, event.file_meta, enforce_standard=True)  # type: ignore[arg-type]  # a file-like
    out.write(event.request.DataSet.getvalue())
    return out.getvalue()


def handle_store(event: Any, titles: dict[str, int]) -> int:
    calling = event.assoc.requestor.ae_title.strip() if isinstance(event.assoc.requestor.ae_title, str) else ""
    structure_id = titles.get(calling)
    if structure_id is None:  # defence in depth: the association was already refused
        return PROCESSING_FAILURE
    try:
        data = _part10(event)
        structure = Structure.objects.filter(pk=structure_id).first()
        do_ingest(data, by=None, source=Source.CSTORE, structure=structure, calling_ae=calling)
    except DicomRefused as refusal:
        log.warning("C-STORE from %s refused: %s", calling, refusal.code)
        return CANNOT_UNDERSTAND
    except Exception:
        log.exception("C-STORE from %s failed", calling)
        return PROCESSING_FAILURE
    finally:
        close_old_connections()
    return SUCCESS


def handle_echo(event: Any) -> int:
    return SUCCESS


def make_ae(titles: dict[str, int]) -> AE:
    ae = AE(ae_title=settings.DICOM_AE_TITLE)
    ae.require_calling_aet = list(titles)
    ae.add_supported_context(Verification)
    for context in AllStoragePresentationContexts:
        if context.abstract_syntax is not None:
            ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.maximum_pdu_size = 0
    return ae


def serve(address: str, port: int, *, block: bool = True) -> Any:
    """Start the receiver; ``block=False`` returns the pynetdicom server (tests, the bench)."""
    titles = calling_titles()
    if not titles:
        raise ImproperlyConfigured("DICOM_CALLING_AE_TITLES is empty: the receiver would accept nobody.")
    ae = make_ae(titles)
    handlers: list[Any] = [(evt.EVT_C_STORE, handle_store, [titles]), (evt.EVT_C_ECHO, handle_echo)]
    return ae.start_server((address, port), block=block, evt_handlers=handlers)


ALL_TRANSFER_SYNTAXES = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.5",
]
