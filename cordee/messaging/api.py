"""The messaging JSON API (``/api/messaging/``): thin, every object through ``access``.

Ids in paths are taken as text so that a forged one ("abc", "-1", "1e3") answers exactly like
a missing or forbidden one: 404 ``{"detail": "Not found.", "code": "not_found"}``. Every error is
in the API's one shape (``cordee.lib.api``); a service's ``ValidationError`` is a 400, its
``PermissionDenied`` a 403 (a member who may read but not manage), through the API's handlers.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse, StreamingHttpResponse
from ninja import Router, Status

from cordee.lib.api import BINARY_RESPONSE, ERRORS, ApiError, ErrorOut
from cordee.lib.http import AuthedRequest
from cordee.messaging import reading, services
from cordee.messaging.access import (
    DOWNLOAD,
    READ,
    access_attachment,
    access_conversation,
    access_message,
    reachable_users,
)
from cordee.messaging.events import attachment_payload, message_payload
from cordee.messaging.models import Conversation, Member
from cordee.messaging.schemas import (
    AdminIn,
    AttachmentOut,
    ColleagueOut,
    ConversationDetail,
    ConversationMemberOut,
    ConversationOut,
    DirectIn,
    EditIn,
    GroupIn,
    MemberIn,
    MessageOut,
    PageOut,
    PatientIn,
    ReadIn,
    ReadOut,
    RenameIn,
    RepliesIn,
    SendIn,
)
from cordee.messaging.services import attachments as files
from cordee.messaging.services import editing, read_state, sending
from cordee.vault.blobs import aiter_blob, iter_blob

router = Router(tags=["messaging"])
_SEND_STATUS = {"closed": 403, "not_editable": 403, "conflict": 409}


def _send_error(exc: sending.SendError) -> Exception:
    if exc.code == "not_found":  # exactly the answer of any missing object
        return Http404()
    return ApiError(_SEND_STATUS.get(exc.code, 400), exc.message, exc.code)


def _out(row: reading.Row) -> dict[str, Any]:
    c = row.conversation
    return {
        "id": c.pk,
        "kind": c.kind,
        "label": row.label,
        "patient_id": c.patient_id,
        "unread": row.unread,
        "role": row.role,
        "replies_closed": c.replies_closed,
        "last_seq": c.last_seq,
        "last_message_at": c.last_message_at,
    }


def _row_of(request: AuthedRequest, conversation: Conversation) -> dict[str, Any]:
    rows = reading.conversation_list(request.user, only=conversation.pk)
    if not rows:
        raise Http404
    return _out(rows[0])


@router.get("/conversations", response={200: list[ConversationOut], **ERRORS}, summary="My conversations, latest first")
def list_conversations(request: AuthedRequest) -> list[dict[str, Any]]:
    return [_out(row) for row in reading.conversation_list(request.user)]


@router.get(
    "/colleagues", response={200: list[ColleagueOut], **ERRORS}, summary="People I can start a conversation with"
)
def colleagues(request: AuthedRequest) -> list[dict[str, Any]]:
    return [{"id": u.pk, "name": u.display_name, "kind": u.kind} for u in reachable_users(request.user)]


def _started(request: AuthedRequest, start: Any, *args: Any) -> dict[str, Any]:
    return _row_of(request, start(request.user, *args, request=request))


@router.post("/conversations/direct", response={201: ConversationOut, **ERRORS})
def start_direct(request: AuthedRequest, data: DirectIn) -> Status:
    return Status(201, _started(request, services.do_start_direct, data.user_id))


@router.post("/conversations/groups", response={201: ConversationOut, **ERRORS})
def create_group(request: AuthedRequest, data: GroupIn) -> Status:
    return Status(201, _started(request, services.do_create_group, data.title, data.member_ids))


@router.post("/conversations/care-team", response={201: ConversationOut, **ERRORS})
def open_care_team_thread(request: AuthedRequest, data: PatientIn) -> Status:
    return Status(201, _started(request, services.do_open_care_team_thread, data.patient_id))


@router.post("/conversations/patient", response={201: ConversationOut, **ERRORS})
def start_patient_thread(request: AuthedRequest, data: PatientIn) -> Status:
    """Only a verified professional of the patient's care team; the patient can then answer."""
    return Status(201, _started(request, services.do_start_patient_thread, data.patient_id))


@router.get("/conversations/{conversation_id}", response={200: ConversationDetail, **ERRORS})
def conversation_detail(request: AuthedRequest, conversation_id: str) -> dict[str, Any]:
    conversation = access_conversation(request.user, conversation_id, purpose=READ, request=request)
    members = Member.objects.filter(conversation=conversation).select_related("user").order_by("joined_at", "pk")
    membership = conversation.membership
    return {
        **_row_of(request, conversation),
        "can_write": membership is not None,
        "last_read_seq": membership.last_read_seq if membership else None,
        "members": [
            {"user_id": m.user_id, "name": m.user.display_name, "kind": m.user.kind, "role": m.role} for m in members
        ],
    }


@router.get("/conversations/{conversation_id}/messages", response={200: PageOut, **ERRORS})
def messages(
    request: AuthedRequest, conversation_id: str, after: int | None = None, before: int | None = None, limit: int = 50
) -> dict[str, Any]:
    """Latest page, history (``before`` a seq) or catch-up (``after`` a cursor, by ``rev_seq``)."""
    conversation = access_conversation(request.user, conversation_id, purpose=READ, request=request)
    page = reading.thread_page(conversation, after=after, before=before, limit=max(1, min(limit, 200)))
    return page.__dict__


@router.post(
    "/conversations/{conversation_id}/messages", response={201: MessageOut, 200: MessageOut, **ERRORS, 409: ErrorOut}
)
def send(request: AuthedRequest, conversation_id: str, data: SendIn) -> Status:
    """Send a message; a resend with the same ``key`` answers 200 with the stored message."""
    req = sending.SendRequest(
        user=request.user,
        conversation_id=conversation_id,
        body=data.body,
        client_key=data.key,
        urgent=data.urgent,
        mentions=data.mentions,
        attachment_ids=data.attachments,
        request=request,
    )
    try:
        result = sending.do_send_message(req)
    except sending.SendError as exc:
        raise _send_error(exc) from None
    return Status((200 if result.duplicate else 201), result.payload)


@router.patch("/messages/{message_id}", response={200: MessageOut, **ERRORS})
def edit(request: AuthedRequest, message_id: str, data: EditIn) -> dict[str, Any]:
    """Change a message's text, within ``MESSAGING_EDIT_WINDOW_SECONDS`` of sending it (audited)."""
    try:
        editing.do_edit_message(request.user, message_id, data.body, request=request)
        return _single(request, message_id)
    except sending.SendError as exc:
        raise _send_error(exc) from None


@router.delete("/messages/{message_id}", response={204: None, **ERRORS})
def delete(request: AuthedRequest, message_id: str) -> Status:
    try:
        editing.do_delete_message(request.user, message_id, request=request)
    except sending.SendError as exc:
        raise _send_error(exc) from None
    return Status(204, None)


def _single(request: AuthedRequest, message_id: str) -> dict[str, Any]:
    message = access_message(request.user, message_id, purpose=sending.SEND, request=request)
    sender = message.sender
    return message_payload(
        message, sender_name=sender.display_name if sender else "", attachments=message.attachments.all()
    )


@router.post("/conversations/{conversation_id}/read", response={200: ReadOut, **ERRORS})
def mark_read(request: AuthedRequest, conversation_id: str, data: ReadIn) -> dict[str, Any]:
    conversation = access_conversation(request.user, conversation_id, purpose="messaging.read_state", request=request)
    return {"seq": read_state.do_mark_read(request.user, conversation, data.seq)}


def _member_out(member: Member) -> dict[str, Any]:
    return {"user_id": member.user_id, "name": member.user.display_name, "kind": member.user.kind, "role": member.role}


def _manage(request: AuthedRequest, action: Any, *args: Any) -> Any:
    return action(request.user, *args, request=request)


@router.patch("/conversations/{conversation_id}", response={200: ConversationOut, **ERRORS})
def rename(request: AuthedRequest, conversation_id: str, data: RenameIn) -> dict[str, Any]:
    conversation = _manage(request, services.do_rename, conversation_id, data.title)
    return _row_of(request, conversation)


@router.post("/conversations/{conversation_id}/members", response={201: ConversationMemberOut, **ERRORS})
def add_member(request: AuthedRequest, conversation_id: str, data: MemberIn) -> Status:
    member = _manage(request, services.do_add_member, conversation_id, data.user_id)
    return Status(201, _member_out(member))


@router.delete("/conversations/{conversation_id}/members/{user_id}", response={204: None, **ERRORS})
def remove_member(request: AuthedRequest, conversation_id: str, user_id: str) -> Status:
    """An administrator removes a member; anyone leaves a group with their own id."""
    _manage(request, services.do_remove_member, conversation_id, user_id)
    return Status(204, None)


@router.post("/conversations/{conversation_id}/admins", response={200: ConversationMemberOut, **ERRORS})
def set_admin(request: AuthedRequest, conversation_id: str, data: AdminIn) -> dict[str, Any]:
    """Name or un-name an administrator; the answer is the role stored (a group keeps one)."""
    member = _manage(request, services.do_set_admin, conversation_id, data.user_id, data.admin)
    return _member_out(member)


@router.post("/conversations/{conversation_id}/replies", response={200: ConversationOut, **ERRORS})
def set_replies(request: AuthedRequest, conversation_id: str, data: RepliesIn) -> dict[str, Any]:
    """A professional closes (or reopens) the patient's replies in a patient thread."""
    conversation = _manage(request, services.do_set_replies_closed, conversation_id, data.closed)
    return _row_of(request, conversation)


@router.post("/conversations/{conversation_id}/close", response={200: ConversationOut, **ERRORS})
def close_patient_thread(request: AuthedRequest, conversation_id: str) -> dict[str, Any]:
    """The patient closes her thread with a professional for good (the professional leaves it)."""
    conversation = _manage(request, services.do_close_patient_thread, conversation_id)
    return _row_of(request, conversation)


@router.post(
    "/conversations/{conversation_id}/attachments",
    response={201: AttachmentOut, 411: ErrorOut, 413: ErrorOut, **ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
        "parameters": [
            {
                "in": "header",
                "name": "X-File-Name",
                "schema": {"type": "string"},
                "description": "percent-encoded UTF-8 file name",
            }
        ],
    },
)
def upload(request: AuthedRequest, conversation_id: str) -> Status:
    """Upload a file (the raw body, ``Content-Length`` required); send it with a message next."""
    try:
        attachment = files.do_upload_attachment(
            request.user,
            conversation_id,
            request,  # type: ignore[arg-type]  # HttpRequest is a readable stream of the body
            name=request.headers.get("X-File-Name"),
            length=request.headers.get("Content-Length"),
            request=request,
        )
    except files.UploadError as exc:
        raise (Http404() if exc.code == "not_found" else ApiError(exc.status, exc.message, exc.code)) from None
    return Status(201, attachment_payload(attachment))


def _file_response(blob: Any, content_type: str, size: int) -> StreamingHttpResponse:
    response = StreamingHttpResponse(aiter_blob(blob), content_type=content_type)  # streamed, not held whole
    response["Content-Length"] = str(size)
    response["Cache-Control"] = "private, no-store"
    return response


@router.get(
    "/attachments/{attachment_id}",
    url_name="messaging_attachment",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {"200": BINARY_RESPONSE}},
)
def download(request: AuthedRequest, attachment_id: str) -> StreamingHttpResponse:
    """The file as uploaded, always as a download (``Content-Disposition: attachment``)."""
    attachment = access_attachment(request.user, attachment_id, purpose=DOWNLOAD, request=request)
    content_type = attachment.content_type + ("; charset=utf-8" if attachment.content_type == "text/plain" else "")
    response = _file_response(attachment.blob, content_type, attachment.size)
    response["Content-Disposition"] = files.content_disposition(attachment.name)
    return response


@router.get(
    "/attachments/{attachment_id}/preview",
    url_name="messaging_attachment_preview",
    response={200: None, **ERRORS},
    openapi_extra={"responses": {"200": BINARY_RESPONSE}},
)
def preview(request: AuthedRequest, attachment_id: str) -> HttpResponse:
    """Cordée's own re-encoding of an image or of a PDF's first page (PNG or JPEG)."""
    attachment = access_attachment(request.user, attachment_id, purpose=DOWNLOAD, request=request)
    if attachment.preview_blob is None:
        raise Http404
    data = b"".join(iter_blob(attachment.preview_blob))
    response = HttpResponse(data, content_type="image/png" if data.startswith(b"\x89PNG") else "image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response
