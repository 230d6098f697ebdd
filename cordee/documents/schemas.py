"""Shapes of the record's JSON API (``documents.api``; OpenAPI at /api/docs)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from cordee.lib.api import StrictIn

# A document type (the DMP's list), as in the record's filter; "message" for the care team's lines.
TypeName = Literal[
    "cr_hospitalisation",
    "cr_consultation",
    "cr_operatoire",
    "cr_imagerie",
    "biologie",
    "ordonnance",
    "courrier",
    "certificat",
    "photo",
    "autre",
]
TimelineKind = Literal[TypeName, "message"]


class RecordAuthorOut(Schema):
    id: int | None = Field(description="null for a removed account")
    name: str = Field(description='"" for the patient herself')
    role: str


class RecordItemOut(Schema):
    id: int
    kind: str = Field(description='"document", "message", or another module\'s kind')
    occurred_at: dt.datetime
    title: str | None = Field(description="null: the kind says what it is (a message)")
    doc_type: str = Field(description='a document\'s type, "" otherwise')
    document_id: int | None = Field(description="the document of a document's line")
    author: RecordAuthorOut
    visible_to_patient: bool
    in_error: bool


class TimelineOut(Schema):
    items: list[RecordItemOut]
    page: int
    pages: int
    count: int


class DocumentVersionOut(Schema):
    id: int
    number: int
    file_name: str
    content_type: str = Field(description="Sniffed from the bytes, never taken from the client")
    size: int
    pages: int
    created_at: dt.datetime
    created_by: RecordAuthorOut
    reason: str = Field(description='why this version ("" for the first)')


class DocumentOut(Schema):
    id: int
    patient_id: int
    doc_type: TypeName
    title: str
    act_date: dt.date
    source: str
    author: RecordAuthorOut
    visible_to_patient: bool
    provided_by_patient: bool
    created_at: dt.datetime
    entered_in_error_at: dt.datetime | None
    entered_in_error_reason: str | None
    versions: list[DocumentVersionOut] = Field(description="newest first")


class VisibilityIn(StrictIn):
    visible: bool


class EnteredInErrorIn(StrictIn):
    reason: str = Field(min_length=1, max_length=500)
