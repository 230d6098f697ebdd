"""Call pages: start a call from a conversation, the call page, and its ICE servers (JSON)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cordee.accounts.models import User
from cordee.lib.http import AuthedRequest
from cordee.lib.ids import parse_id
from cordee.messaging.reading import patient_name
from cordee.video import appointments, ice, janus, purposes, services
from cordee.video.access import access_appointment, access_call, access_call_conversation
from cordee.video.models import Call, Participant

SOCKET_PATH = "/ws/messagerie/"  # messaging's socket carries the signalling

_REFUSALS = {
    "not_allowed": lambda: _("Your professional starts the teleconsultation; you will be invited to join it."),
    "rate_limited": lambda: _("Too many calls started in a short time: wait a moment and try again."),
    "closed": lambda: _("This conversation is closed."),
    "sfu_unavailable": lambda: _("The video server for group calls cannot be reached: try again in a moment."),
}


@login_required
@require_POST
def start(request: AuthedRequest, conversation_id: str) -> HttpResponse:
    conversation = access_call_conversation(request.user, conversation_id, request=request)
    try:
        call = services.check_start_call(request.user, conversation, request)
    except services.CallError as error:
        refusal = _REFUSALS.get(error.code)
        messages.error(request, refusal() if refusal else _("The call could not be started."))
        return redirect("messaging:conversation", conversation_id=conversation.pk)
    return redirect("video:call", call_id=call.pk)


def _strings() -> dict[str, str]:
    return {
        "connecting": _("Connecting…"),
        "waiting": _("You are in the waiting room: the professional will let you in."),
        "waitingHost": _("Waiting for the others to join…"),
        "admit": _("Let in"),
        "inWaitingRoom": _("%(name)s is in the waiting room"),
        "ended": _("The call has ended."),
        "left": _("You left the call."),
        "moved": _("The call continues in another window."),
        "full": _("The call is full."),
        "sfuUnavailable": _REFUSALS["sfu_unavailable"](),
        "notFound": _("This call cannot be reached."),
        "mediaError": _("Camera or microphone unavailable: check the browser's permissions."),
        "you": _("You"),
        "muted": _("Microphone off"),
        "cameraOff": _("Camera is off"),
        "quality.good": _("Good connection"),
        "quality.fair": _("Fair connection"),
        "quality.poor": _("Poor connection"),
        "quality.unknown": _("Measuring the connection…"),
        "state.new": _("connecting"),
        "state.connecting": _("connecting"),
        "state.connected": _("connected"),
        "state.disconnected": _("reconnecting"),
        "state.failed": _("connection lost, retrying"),
        "state.closed": _("left"),
        "joinedPeer": _("%(name)s joined the call"),
        "leftPeer": _("%(name)s left the call"),
        "screenShared": _("You are sharing your screen"),
    }


@never_cache
@login_required
def call_page(request: AuthedRequest, call_id: str) -> HttpResponse:
    call = access_call(request.user, call_id, request=request)
    conversation = call.conversation
    mine = Participant.objects.filter(call=call, user=request.user).first()
    context = {
        "call": call,
        "conversation": conversation,
        "is_host": services.is_host(request.user, call),
        "client": {
            "call": call.pk,
            "kind": call.kind,
            "conversation": conversation.pk,
            "user": request.user.pk,
            "name": request.user.display_name,
            "active": call.state == Call.State.ACTIVE,
            "host": services.is_host(request.user, call),
            "startedAt": call.started_at.isoformat(),
            "admitted": mine is not None and mine.admitted_at is not None,
            "socket": SOCKET_PATH,
            "ice": _ice(request.user, call),
            "iceUrl": reverse("video:ice", kwargs={"call_id": call.pk}),
            "strings": _strings(),
        },
    }
    response = render(request, "video/call.html", context)
    # The one page that uses camera, microphone and screen capture (off everywhere else), from
    # this origin only; autoplay for the participants' videos.
    policy = settings.PERMISSIONS_POLICY
    for feature in ("camera", "microphone", "display-capture", "autoplay"):
        policy = policy.replace(f"{feature}=()", f"{feature}=(self)")
    response["Permissions-Policy"] = policy
    if call.sfu_room and settings.VIDEO_JANUS_WS_URL:
        # The SFU's WebSocket, for this page only (django-csp reads this per response).
        response._csp_update = {"connect-src": [settings.VIDEO_JANUS_WS_URL]}  # type: ignore[attr-defined]  # django-csp's per-response hook
    return response


def _ice(user: User, call: Call) -> dict[str, Any]:
    """ICE servers, and for a call through the SFU a fresh Janus token (the page renews both)."""
    servers = ice.ice_servers(user.pk)
    if call.sfu_room and call.state == Call.State.ACTIVE:
        servers["sfuToken"] = janus.signed_token()
    return servers


@never_cache
@login_required
def ice_servers(request: AuthedRequest, call_id: str) -> JsonResponse:
    """Fresh TURN credentials for a member of a call in progress (an ICE restart after they
    expired asks again): the relay's bandwidth is for calls, not for any signed-in account."""
    call = access_call(request.user, call_id, request=request)
    if call.state != Call.State.ACTIVE:
        raise Http404
    return JsonResponse(_ice(request.user, call))


# --- planned teleconsultations --------------------------------------------------------------


def _back_to_thread(conversation_id: Any) -> HttpResponse:
    return redirect("messaging:conversation", conversation_id=conversation_id)


def _say_errors(request: AuthedRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
@require_POST
def plan(request: AuthedRequest, conversation_id: str) -> HttpResponse:
    """Plan a teleconsultation from a patient's thread (the call tool's form)."""
    try:
        appointment = appointments.check_plan(
            request.user, conversation_id, request.POST.get("when"), request.POST.get("minutes"), request=request
        )
    except ValidationError as error:
        _say_errors(request, error)
        return _back_to_thread(parse_id(conversation_id))
    messages.success(
        request, _("Teleconsultation planned on %(when)s.") % {"when": appointments.when_text(appointment)}
    )
    return _back_to_thread(appointment.conversation_id)


@login_required
@require_POST
def cancel(request: AuthedRequest, appointment_id: str) -> HttpResponse:
    appointment = access_appointment(request.user, appointment_id, purpose=purposes.CANCELLED, request=request)
    try:
        appointments.check_cancel(request.user, appointment, request=request)
    except ValidationError as error:
        _say_errors(request, error)
    else:
        messages.success(request, _("The teleconsultation is cancelled."))
    return _back_to_thread(appointment.conversation_id)


@login_required
def appointment_list(request: AuthedRequest) -> HttpResponse:
    """The user's planned teleconsultations still to come, soonest first."""
    rows = []
    for appointment in appointments.listed_for(request.user, request=request):
        conversation = appointment.conversation
        if request.user.kind == User.Kind.PATIENT:
            who = appointment.planned_by.display_name if appointment.planned_by else ""
        else:
            who = patient_name(conversation.patient) if conversation.patient else ""
        rows.append({"appointment": appointment, "who": who, "when": appointments.when_text(appointment)})
    return render(request, "video/appointments.html", {"rows": rows, "lengths": appointments.LENGTHS})
