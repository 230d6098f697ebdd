"""Canary values for the breach-resistance test: planted through the normal services, then looked for
byte by byte in what a thief would take (database files, a pg_dump, the blob directory).

A message body goes through the messaging services (Alice writes to Bob). A document's text has no
model yet (the documents module comes later): a second free-text canary goes through an encrypted
free-text field (the patient's address) instead, the field type such texts will use; a file's bytes
go through the blob store, which documents and attachments use.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from pathlib import Path

BIRTH_NAME = "ZORGLUBOVSKI"
GIVEN_NAMES = "Canarina Philomène"
NIR = "293127511204794"  # a valid NIR (key 94) that appears nowhere else
BIRTH_DATE = dt.date(1931, 7, 29)
FREE_TEXT = "Glycémie canari 7F3A9C, traitement à revoir"
MESSAGE = "Message canari QX81ZD : biopsie hépatique positive"
FILE_MARKER = "CANARY-FILE-8D1E4B compte rendu opératoire"
CONTROL = "CONTROL-IN-CLEAR-5A2F"  # put in a clear column on purpose: the scanner must find it

ACCOUNT_EMAIL = "compte.canari.7q@example.test"  # an address that does not say the name

SECRETS = {
    "birth name": [BIRTH_NAME, "Zorglubovski"],
    "given names": [GIVEN_NAMES, "Canarina"],
    "NIR/INS": [NIR, "2 93 12 75 112 047 94"],
    "birth date": ["1931-07-29", "29/07/1931", "19310729"],
    "free text": [FREE_TEXT, "canari 7F3A9C"],
    "message body": [MESSAGE, "canari QX81ZD"],
    "file bytes": [FILE_MARKER],
}


def file_content() -> bytes:
    """3 MiB with the marker in several segments (start, middle, end)."""
    filler = bytes(range(256)) * 4096  # 1 MiB
    marker = FILE_MARKER.encode()
    return marker + filler + marker + filler + filler + marker


def _send_message(users: dict) -> str:
    from cordee.messaging.models import Message
    from cordee.messaging.services import do_start_direct
    from cordee.messaging.services.sending import SendRequest, do_send_message

    conversation = do_start_direct(users["alice"], users["bob"].pk)
    result = do_send_message(SendRequest(users["alice"], conversation.pk, MESSAGE, "breach-canary-0001"))
    return Message.objects.get(pk=result.message.pk).body


def _act_as_the_patient(users: dict, patient) -> str:
    """The canary patient gets an account and acts in Cordée: signs in (through the login signal and
    its audit entry), records and withdraws an opposition (entries naming her as actor and target).
    Sign-up gave her names, as a patient typing them would: they must not be stored on the account."""
    from django.contrib.auth import login
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    from cordee.accounts.models import Invitation, User
    from cordee.accounts.services import do_invite
    from cordee.accounts.services.onboarding import do_complete_signup
    from cordee.care.services import do_record_opposition, do_withdraw_opposition

    structure = users["ada"].memberships.get().structure
    invitation, _token = do_invite(structure, ACCOUNT_EMAIL, User.Kind.PATIENT, "member", invited_by=users["ada"])
    account = User.objects.create_user(ACCOUNT_EMAIL, "canary-password-2026")
    names = {"first_name": GIVEN_NAMES.split()[0], "last_name": BIRTH_NAME}
    do_complete_signup(None, account, Invitation.objects.get(pk=invitation.pk), names)
    # Linking an account to an identity has no service yet (patient invitations, issue 11).
    patient.user = account
    patient.save(update_fields=["user"])
    account = User.objects.get(pk=account.pk)
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = account
    login(request, account, backend="cordee.accounts.backends.ModelBackend")
    opposition = do_record_opposition(patient, by=account, member=users["bob"])
    do_withdraw_opposition(opposition, by=account)
    return account.display_name


def plant(users: dict) -> dict:
    """Plant every canary through the services (``users``: the demo personas); read them back."""
    from cordee.accounts import services
    from cordee.accounts.models import Structure
    from cordee.vault import blobs

    registrar = users["alice"]

    patient = services.do_register_patient(
        by=registrar,
        birth_name=BIRTH_NAME,
        birth_given_names=GIVEN_NAMES,
        birth_date=BIRTH_DATE,
        sex="F",
        birth_place_code="75112",
        ins=NIR,
        address=FREE_TEXT,
    )
    blob = blobs.store_blob(patient, io.BytesIO(file_content()), max_bytes=8 << 20)
    Structure.objects.create(name=CONTROL, kind="cabinet")
    with blobs.open_blob(blob) as stream:
        file_ok = stream.read() == file_content()
    fresh = type(patient).objects.get(pk=patient.pk)
    return {
        "birth_name": fresh.birth_name,
        "ins": fresh.ins,
        "address": fresh.address,
        "birth_date": fresh.birth_date.isoformat(),
        "file_ok": file_ok,
        "found_by_ins": list(services.find_patients_by_ins(NIR).values_list("pk", flat=True)) == [patient.pk],
        "message": _send_message(users),
        "account_name": _act_as_the_patient(users, fresh),
    }


def _base64_cores(data: bytes) -> list[bytes]:
    """Base64 of ``data`` at the 3 possible alignments inside a longer encoded text, std and URL-safe."""
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data)
        start = (offset * 4 + 2) // 3  # characters that depend on the unknown bytes before
        end = len(encoded) - 4  # characters that depend on the unknown bytes after
        core = encoded[start:end]
        cores += [core, core.replace(b"+", b"-").replace(b"/", b"_")]
    return [core for core in cores if len(core) >= 8]


def forms(value: str) -> dict[str, bytes | list[bytes]]:
    """The shapes in which a value could leak: clear, case variants, base64, hex, UTF-16."""
    shapes: dict[str, bytes | list[bytes]] = {}
    for variant in {value, value.upper(), value.lower()}:
        raw = variant.encode("utf-8")
        shapes[f"utf-8 {variant!r}"] = raw
        shapes[f"latin-1 {variant!r}"] = variant.encode("latin-1", errors="replace")
        shapes[f"base64 {variant!r}"] = _base64_cores(raw)
        shapes[f"hex {variant!r}"] = [raw.hex().encode(), raw.hex().upper().encode()]
        shapes[f"utf-16 {variant!r}"] = [variant.encode("utf-16-le"), variant.encode("utf-16-be")]
    return shapes


def scan(files: list[Path], values: dict[str, list[str]]) -> list[str]:
    """Every (file, secret, form) found; read byte by byte, whole files."""
    findings = []
    for path in files:
        content = path.read_bytes()
        for label, variants in values.items():
            for value in variants:
                for form, needles in forms(value).items():
                    for needle in needles if isinstance(needles, list) else [needles]:
                        if needle and needle in content:
                            findings.append(f"{path.name}: {label} as {form}")
    return findings
