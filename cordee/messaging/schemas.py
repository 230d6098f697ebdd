"""Shapes of the messaging JSON API (OpenAPI at /api/docs)."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from cordee.lib.api import Count, Id, StrictIn

# The client's idempotency key: the whole value must match (no trailing newline).
SEND_KEY_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str = Field(description="Sniffed from the bytes, never taken from the client")
    size: int
    preview: str | None = Field(None, description='"image", "pdf" or null')
    url: str
    preview_url: str | None = None


class CardOut(Schema):
    kind: str = Field(description='What the card shows: "reference" (a library article)')
    title: str
    detail: str = ""
    url: str = Field(description="A path inside Cordée")
    label: str = Field("", description='The link\'s words ("PMID 123")')


class MessageOut(Schema):
    id: int
    conversation: int
    seq: int = Field(description="Place in the conversation: 1, 2, 3… never changes")
    rev_seq: int = Field(description="Number of the message's last change: catch up with ?after=")
    sender: int | None
    sender_name: str
    key: str = Field(description="The sending client's idempotency key")
    body: str
    urgent: bool
    mentions: list[int]
    created_at: dt.datetime
    edited: bool
    deleted: bool
    attachments: list[AttachmentOut]
    card: CardOut | None = None


class SendIn(StrictIn):
    body: str = ""
    key: str = Field(
        pattern=SEND_KEY_PATTERN,
        description="8-64 characters [A-Za-z0-9_-] chosen by the client; a resend with the same key is not duplicated",
    )
    urgent: bool = False
    mentions: list[Id] = Field([], max_length=50)
    attachments: list[Id] = Field([], max_length=10)


class EditIn(StrictIn):
    body: str


class PageOut(Schema):
    messages: list[MessageOut]
    last_seq: int = Field(description="Cursor to catch up from (?after=)")
    more_before: bool
    more_after: bool


class ConversationMemberOut(Schema):
    user_id: int
    name: str
    kind: str
    role: str


class ConversationOut(Schema):
    id: int
    kind: str
    label: str
    patient_id: int | None
    unread: int | None = Field(description="null when read as a delegate (staff acting for a professional)")
    role: str | None
    replies_closed: bool
    last_seq: int
    last_message_at: dt.datetime | None


class ConversationDetail(ConversationOut):
    can_write: bool
    last_read_seq: int | None
    members: list[ConversationMemberOut]


class DirectIn(StrictIn):
    user_id: Id


class GroupIn(StrictIn):
    title: str
    member_ids: list[Id] = Field([], max_length=200)


class PatientIn(StrictIn):
    patient_id: Id


class MemberIn(StrictIn):
    user_id: Id


class AdminIn(StrictIn):
    user_id: Id
    admin: bool


class RenameIn(StrictIn):
    title: str


class RepliesIn(StrictIn):
    closed: bool


class ReadIn(StrictIn):
    seq: Count


class ReadOut(Schema):
    seq: int


class ColleagueOut(Schema):
    id: int
    name: str
    kind: str
