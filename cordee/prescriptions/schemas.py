"""Input and output schemas of the prescriptions' JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

from cordee.lib.api import Id, StrictIn

Short = Field(default="", max_length=100)


class DraftIn(StrictIn):
    bizone: bool = False
    weight_kg: str = Field(default="", max_length=10)


class LineIn(StrictIn):
    kind: Literal["product", "substance", "free"]
    code: str = Field(
        default="", max_length=20, description="CIS (8 digits) or CIP13; a substance code for an INN line"
    )
    dose: str = Field(default="", max_length=20)
    unit: str = Field(default="", max_length=40)
    times: int = Field(default=1, ge=-1000, le=1000)
    per: Literal["day", "week", "month"] = "day"
    duration_days: int | None = Field(default=None, ge=-1000, le=10000)
    route: str = Field(default="", max_length=40)
    timing: str = Field(default="", max_length=80)
    instructions: str = Field(default="", max_length=300)
    quantity: int = Field(default=1, ge=-1000, le=1000)
    renewals: int = Field(default=0, ge=-100, le=100)
    non_substituable: Literal["", "MTE", "EFG", "CIF"] = ""
    ald: bool = False
    text: str = Field(default="", max_length=1000, description="a free-text line: what is prescribed")


class SignIn(StrictIn):
    override_reason: str = Field(default="", max_length=1000)


class CancelIn(StrictIn):
    reason: str = Field(max_length=1000)


class VerifyIn(StrictIn):
    number: str = Field(default="", max_length=40)
    qr: str = Field(default="", max_length=4000, description="the text of the prescription's QR code")


class DispenseIn(StrictIn):
    number: str = Field(max_length=40)
    line_id: Id
    quantity: int = Field(ge=-1000, le=1000)
    cip13: str = Field(default="", max_length=20)


class LineOut(Schema):
    id: int
    kind: str
    title: str
    details: str
    cis: str
    cip13: str
    substance_code: str
    quantity: int
    renewals: int
    dispensing_round: int
    dispensed_in_round: int
    fully_dispensed: bool
    ald: bool
    non_substituable: str


class PrescriberOut(Schema):
    name: str
    rpps: str
    role: str


class PrescriptionOut(Schema):
    id: int
    number: str
    patient_id: int
    status: str
    prescriber: PrescriberOut
    bizone: bool
    created_at: dt.datetime
    signed_at: dt.datetime | None
    valid_until: dt.date | None
    cancelled_at: dt.datetime | None
    lines: list[LineOut]


class FindingOut(Schema):
    code: str
    level: str
    message: str
    lines: list[int]
    interaction_level: str
    overridable: bool


class ChecksOut(Schema):
    findings: list[FindingOut]
    may_sign: bool
    needs_override: bool


class SignatureOut(Schema):
    valid: bool
    intact: bool
    trusted: bool
    signer_name: str
    signer_rpps: str
    problem: str


class PharmacyOut(Schema):
    """What a pharmacist sees: enough to dispense, no more."""

    number: str
    status: str
    signed_at: dt.datetime | None
    valid_until: dt.date | None
    prescriber: PrescriberOut
    signature: SignatureOut
    lines: list[LineOut]
