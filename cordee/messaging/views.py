"""Server-rendered messaging pages: the list, starting a conversation, a conversation's settings.

The conversation pane itself is a JS island (``static/messaging/conversation.js``) over the JSON
API and the socket; these views only render its frame and handle the forms around it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import User
from cordee.care.access import list_patients
from cordee.lib import modules
from cordee.lib.http import AuthedRequest
from cordee.lib.views import service_form
from cordee.messaging import reading, services
from cordee.messaging.access import access_conversation, reachable_users
from cordee.messaging.models import Conversation, Member

SOCKET_PATH = "/ws/messagerie/"
VIEW = "messaging.view"  # rendering a conversation's frame: no message is shown, nothing to audit


def _list_strings() -> dict[str, str]:
    return {
        "connecting": _("Connecting…"),
        "online": _("Connected"),
        "offline": _("Offline: reconnecting…"),
        "signed-out": _("Your session has ended: sign in again."),
        "unread": _("%(n)s unread"),
        "urgent": _("Urgent"),
        "mentioned": _("You are mentioned"),
        "new_in": _("New message in %(name)s"),
    }


def _client_strings() -> dict[str, str]:
    """The island's words, rendered here so that they are translated like the pages."""
    return _list_strings() | {
        "offline": _("Offline: your messages will be sent when the connection returns"),
        "send": _("Send"),
        "sending": _("Sending…"),
        "failed": _("Not sent"),
        "retry": _("Send again"),
        "edited": _("edited"),
        "deleted": _("Message deleted"),
        "edit": _("Edit"),
        "delete": _("Delete"),
        # Said after "Edit" / "Delete" to screen readers: which message (its time and first words).
        "which_message": _("the message of %(time)s: “%(start)s”"),
        "new_from": _("New message from %(name)s: %(text)s"),
        "save": _("Save"),
        "cancel": _("Cancel"),
        "confirm_delete": _("Delete this message?"),
        "older": _("Show older messages"),
        "attach": _("Attach a file"),
        "uploading": _("Uploading…"),
        "upload_failed": _("The file could not be uploaded."),
        "download": _("Download"),
        "preview_of": _("Preview of %(name)s"),
        "reference": _("Scientific reference"),
        "you": _("You"),
        "new_messages": _("New messages"),
        "removed": _("You no longer have access to this conversation."),
        "closed": _("Replies are closed in this conversation."),
        "read_only": _("You read this conversation for the professional you assist; you cannot write in it."),
        "error.empty": _("The message is empty."),
        "error.too_long": _("The message is too long."),
        "error.not_found": _("This conversation does not exist or is not open to you."),
        "error.closed": _("Replies are closed in this conversation."),
        "error.bad_attachment": _("An attachment is missing or was already sent."),
        "error.not_editable": _("This message can no longer be changed."),
        "error.conflict": _("The message could not be saved; send it again."),
        "error.bad_request": _("The message could not be read."),
    }


@login_required
def index(request: AuthedRequest) -> HttpResponse:
    rows = reading.conversation_list(request.user)
    client = {"socket": SOCKET_PATH, "user": request.user.pk, "strings": _list_strings()}
    return render(request, "messaging/index.html", {"rows": rows, "current": None, "client": client})


@login_required
def conversation(request: AuthedRequest, conversation_id: str) -> HttpResponse:
    current = access_conversation(request.user, conversation_id, purpose=VIEW, request=request)
    rows = reading.conversation_list(request.user)
    row = next((r for r in rows if r.conversation.pk == current.pk), None)
    members = Member.objects.filter(conversation=current).select_related("user").order_by("joined_at", "pk")
    membership = current.membership
    context = {
        "rows": rows,
        "current": current,
        "row": row,
        "members": members,
        "membership": membership,
        "is_admin": membership is not None and membership.role == Member.Role.ADMIN,
        # Names, members and administrators are a group's: other threads have none to manage.
        "manages_group": current.kind == Conversation.Kind.GROUP
        and membership is not None
        and membership.role == Member.Role.ADMIN,
        "may_close": current.kind == Conversation.Kind.PATIENT
        and membership is not None
        and verified_professional(request.user) is not None,
        "may_close_thread": current.kind == Conversation.Kind.PATIENT
        and membership is not None
        and request.user.kind == User.Kind.PATIENT
        and current.closed_at is None,
        "tools": modules.conversation_tools(request.user, current),  # e.g. video's call button
        "colleagues": reachable_users(request.user).exclude(pk__in=[m.user_id for m in members])
        if current.kind == Conversation.Kind.GROUP
        else [],
        "client": {
            "conversation": current.pk,
            "user": request.user.pk,
            "canWrite": membership is not None,
            "patientView": request.user.kind == User.Kind.PATIENT,
            "repliesClosed": current.replies_closed and request.user.kind == User.Kind.PATIENT,
            "socket": SOCKET_PATH,
            "api": reverse("api:api-root") + "messaging/",
            "maxBody": settings.MESSAGING_MAX_BODY_CHARS,
            "maxUpload": settings.MESSAGING_ATTACHMENT_MAX_BYTES,
            "editWindow": settings.MESSAGING_EDIT_WINDOW_SECONDS,
            "members": [{"id": m.user_id, "name": m.user.display_name} for m in members],
            "strings": _client_strings(),
        },
    }
    return render(request, "messaging/conversation.html", context)


def _patients_for(user: User) -> list[Any]:
    """The first page of the user's patients (the care app audits each name shown)."""
    if verified_professional(user) is None:
        return []
    return [membership.patient for membership in list_patients(user, 1).object_list]


@login_required
def new(request: AuthedRequest) -> HttpResponse:
    if request.user.kind == User.Kind.PATIENT:
        # Professionals start the threads with their patients: say so, rather than a bare 403.
        messages.info(request, _("Your professionals start the conversations with you; you answer them here."))
        return redirect("messaging:index")
    context = {
        "colleagues": reachable_users(request.user),
        "patients": _patients_for(request.user),
        "patient_name": reading.patient_name,
    }
    return render(request, "messaging/new.html", context)


def _act(request: AuthedRequest, action: Callable[..., Any], *args: Any, done: str = "") -> HttpResponse:
    """Run a service from a form (refusals: ``service_form`` on the view); go to its conversation."""
    result = action(request.user, *args, request=request)
    if isinstance(result, Conversation):
        return redirect("messaging:conversation", result.pk)
    return redirect(done or reverse("messaging:conversation", args=[args[0]]))


_MAY_NOT = _lazy("You may not do that in this conversation.")


@login_required
@require_POST
@service_form(back="messaging:new", forbidden=_MAY_NOT)
def start_direct(request: AuthedRequest) -> HttpResponse:
    return _act(request, services.do_start_direct, request.POST.get("user", ""))


@login_required
@require_POST
@service_form(back="messaging:new", forbidden=_MAY_NOT)
def create_group(request: AuthedRequest) -> HttpResponse:
    members = request.POST.getlist("members")
    return _act(request, services.do_create_group, request.POST.get("title", ""), members)


@login_required
@require_POST
@service_form(back="messaging:new", forbidden=_MAY_NOT)
def start_patient(request: AuthedRequest) -> HttpResponse:
    start = (
        services.do_open_care_team_thread
        if request.POST.get("kind") == "care_team"
        else services.do_start_patient_thread
    )
    return _act(request, start, request.POST.get("patient", ""))


@login_required
@require_POST
@service_form(back="messaging:conversation", forbidden=_MAY_NOT)
def settings_action(request: AuthedRequest, conversation_id: str) -> HttpResponse:
    """The forms of a conversation's settings: name, members, administrators, patient replies."""
    action = request.POST.get("action", "")
    back = reverse("messaging:conversation", args=[conversation_id])
    handlers: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
        "rename": (services.do_rename, (conversation_id, request.POST.get("title", ""))),
        "add": (services.do_add_member, (conversation_id, request.POST.get("user", ""))),
        "remove": (services.do_remove_member, (conversation_id, request.POST.get("user", ""))),
        "leave": (services.do_remove_member, (conversation_id, request.user.pk)),
        "promote": (services.do_set_admin, (conversation_id, request.POST.get("user", ""), True)),
        "close": (services.do_set_replies_closed, (conversation_id, True)),
        "reopen": (services.do_set_replies_closed, (conversation_id, False)),
        "close_thread": (services.do_close_patient_thread, (conversation_id,)),
    }
    if action not in handlers:
        messages.error(request, _("Unknown action."))
        return redirect(back)
    service, args = handlers[action]
    done = reverse("messaging:index") if action == "leave" else back
    return _act(request, service, *args, done=done)
