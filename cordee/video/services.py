"""Starting, joining, admitting, leaving and ending calls: each change and its audit entry in one
transaction, the frames for the sockets sent after the commit.

- A **call** is started by a member of a direct, group or care-team conversation; members join it
  (``VIDEO_MESH_MAX_PARTICIPANTS`` at most: a mesh); it ends when its starter ends it or the last
  participant leaves. With ``VIDEO_SFU = "janus"``, a conversation of more members than the mesh
  holds has its call in a Janus room (``VIDEO_SFU_MAX_PARTICIPANTS`` at most): Cordée creates it,
  puts each participant it lets in on the room's access list, takes them off it (and kicks their
  feed) when they leave, and destroys the room when the call ends.
- A **teleconsultation** is the call of a professional↔patient thread: only the professional
  starts it and ends it for everyone; the patient enters a waiting room until the professional
  admits them. Its entries are access entries naming the patient: they read them in their history.

Audit entries say who, which call and when: never anything of the media.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from cordee.accounts.guards import verified_professional
from cordee.accounts.models import User
from cordee.audit import services as audit
from cordee.audit.models import AuditEntry
from cordee.lib import ratelimit
from cordee.lib.ratelimit import parse_rates
from cordee.messaging.models import Conversation, Member
from cordee.video import events, janus, purposes
from cordee.video.models import Call, Participant

logger = logging.getLogger(__name__)


class CallError(Exception):
    """A call action that cannot be done; ``code`` is what the client is told."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _audit(
    action: str,
    call: Call,
    user: Any,
    request: HttpRequest | None,
    *,
    patient_id: int | None,
    outcome: str = AuditEntry.Outcome.SUCCESS,
    **details: Any,
) -> None:
    if call.is_teleconsultation:
        purpose = action
    elif patient_id is not None:
        purpose = purposes.CARE_TEAM_CALL
    else:
        purpose = purposes.CALL
    audit.record(
        action,
        actor=user,
        request=request,
        target_type="video.call",
        target_id=call.pk,
        patient_id=patient_id,
        purpose=purpose,
        outcome=outcome,
        category=AuditEntry.Category.ACCESS if patient_id is not None else AuditEntry.Category.SECURITY,
        details={"kind": call.kind, "conversation": call.conversation_id} | details,
    )


def _patient_id(call: Call) -> int | None:
    conversation = call.conversation
    return conversation.patient_id


def _member_ids(call: Call) -> list[int]:
    return list(Member.objects.filter(conversation_id=call.conversation_id).values_list("user_id", flat=True))


def _name(user: Any) -> str:
    return str(user.display_name)


def _ring(call: Call, starter: Any) -> dict[str, Any]:
    """The frame that rings the members: at the start, and in a page's ready frame after it."""
    return {
        "type": "call.ring",
        "call": call.pk,
        "conversation": call.conversation_id,
        "kind": call.kind,
        "from": _name(starter) if starter else "",
        "url": events.call_url(call),
    }


def is_host(user: Any, call: Call) -> bool:
    """Who admits and ends for everyone: the professional who started a teleconsultation, the
    starter of a call."""
    return call.started_by_id == user.pk


# --- start ---------------------------------------------------------------------------------


def _rate_limited(user: User) -> bool:
    """Fixed windows per user (``VIDEO_CALL_START_RATE``), counted in the shared rate-limit cache."""
    cache = caches["ratelimit"]
    now = time.time()
    for limit, period in parse_rates(settings.VIDEO_CALL_START_RATE):
        if ratelimit.hit(cache, f"video-start:{user.pk}:{period}:{int(now // period)}", period) > limit:
            return True
    return False


def check_start_call(user: User, conversation: Conversation, request: HttpRequest | None = None) -> Call:
    """Start a call in a conversation ``user`` is a member of (accessed by the caller), or give
    the one in progress there. A patient thread's call is a teleconsultation: a professional's."""
    if conversation.membership is None:
        raise CallError("not_found")
    teleconsultation = conversation.kind == Conversation.Kind.PATIENT
    if teleconsultation and verified_professional(user) is None:
        raise CallError("not_allowed")  # the patient joins the professional's teleconsultation
    if conversation.closed_at is not None:
        raise CallError("closed")
    existing = Call.objects.filter(conversation=conversation, state=Call.State.ACTIVE).first()
    if existing is not None:
        existing.conversation = conversation
        return existing
    if _rate_limited(user):
        with transaction.atomic():
            audit.record(
                purposes.START_LIMITED,
                actor=user,
                request=request,
                target=conversation,
                outcome=AuditEntry.Outcome.DENIED,
                purpose=purposes.CALL,
            )
        raise CallError("rate_limited")
    kind = Call.Kind.TELECONSULTATION if teleconsultation else Call.Kind.CALL
    try:
        return do_start_call(user, conversation, kind, request)
    except IntegrityError:  # another member started one at the same moment: join theirs
        existing = Call.objects.filter(conversation=conversation, state=Call.State.ACTIVE).first()
        if existing is None:
            raise
        existing.conversation = conversation
        return existing


def _wants_sfu(conversation: Conversation) -> bool:
    """A conversation of more members than a mesh holds calls through the SFU, when there is one."""
    if not janus.enabled():
        return False
    return Member.objects.filter(conversation_id=conversation.pk).count() > settings.VIDEO_MESH_MAX_PARTICIPANTS


def do_start_call(user: User, conversation: Conversation, kind: str, request: HttpRequest | None) -> Call:
    room = None
    if _wants_sfu(conversation):
        room = janus.new_room_id()
        try:
            janus.create_room(room, settings.VIDEO_SFU_MAX_PARTICIPANTS)
        except janus.JanusError as error:
            logger.warning("video: the SFU could not create a room (%s)", error)
            raise CallError("sfu_unavailable") from error
    try:
        return _create_call(user, conversation, kind, request, room)
    except BaseException:
        if room is not None:
            _tidy(janus.destroy_room, room)
        raise


def _tidy(action: Any, *args: Any) -> None:
    """A clean-up on the SFU that may fail without stopping Cordée's side (Janus down: its rooms
    and sessions go with it)."""
    try:
        action(*args)
    except janus.JanusError as error:
        logger.warning("video: SFU clean-up %s failed (%s)", action.__name__, error)


def _create_call(
    user: User, conversation: Conversation, kind: str, request: HttpRequest | None, room: int | None
) -> Call:
    with transaction.atomic():
        call = Call.objects.create(conversation=conversation, kind=kind, started_by=user, sfu_room=room)
        call.conversation = conversation
        if call.is_teleconsultation:
            from cordee.video.appointments import hold_on_start  # (it imports messaging's services)

            hold_on_start(call)
        _audit(
            purposes.STARTED, call, user, request, patient_id=conversation.patient_id, media="sfu" if room else "mesh"
        )
        others = [uid for uid in _member_ids(call) if uid != user.pk]
        events.deliver_on_commit([events.to_members(call, others, _ring(call, user))])
    return call


# --- join, admit, leave, end -----------------------------------------------------------------


@dataclass
class Joined:
    frame: dict[str, Any]
    outgoing: list[events.Outgoing] = field(default_factory=list)


def _peer(participant: Participant) -> dict[str, Any]:
    # ``feed``: the participant's publisher id in the call's SFU room (Cordée's, not the browser's).
    return {"user": participant.user_id, "name": _name(participant.user), "feed": participant.pk}


def capacity(call: Call) -> int:
    return settings.VIDEO_SFU_MAX_PARTICIPANTS if call.sfu_room else settings.VIDEO_MESH_MAX_PARTICIPANTS


def _let_in_sfu(call: Call, participant: Participant, *, rejoin: bool) -> dict[str, Any] | None:
    """Put the participant on the room's access list (first kicking the feed a lost page left
    there): what their page needs to publish and subscribe. None for a mesh call."""
    if not call.sfu_room:
        return None
    try:
        janus.allow(call.sfu_room, participant.pk, kick_first=rejoin)
    except janus.JanusError as error:
        logger.warning("video: the SFU refused a participant's access (%s)", error)
        raise CallError("sfu_unavailable") from error
    return janus.client_config(call.sfu_room, participant.pk)


def _locked(call: Call) -> Call:
    """The call's row again, locked until commit (PostgreSQL): joins and ends do not cross."""
    fresh = Call.objects.select_for_update().get(pk=call.pk)
    fresh.conversation = call.conversation
    return fresh


def do_join(user: User, call: Call, channel: str, request: HttpRequest | None = None) -> Joined:
    """Enter the call from the socket ``channel``: in it, or in the waiting room (a patient not yet
    admitted to a teleconsultation). The others in the call hear of it."""
    with transaction.atomic():
        call = _locked(call)
        if call.state != Call.State.ACTIVE:
            raise CallError("ended")
        participant, _created = Participant.objects.select_for_update().get_or_create(call=call, user=user)
        participant.user = user
        joined = [p for p in _joined(call) if p.user_id != user.pk]
        waits = call.is_teleconsultation and not is_host(user, call) and participant.admitted_at is None
        if not waits and len(joined) + 1 > capacity(call):
            raise CallError("full")
        previous_channel = participant.channel if participant.state != Participant.State.LEFT else ""
        sfu = None if waits else _let_in_sfu(call, participant, rejoin=not _created)
        participant.state = Participant.State.WAITING if waits else Participant.State.JOINED
        participant.channel = channel
        participant.joined_at = timezone.now()
        participant.left_at = None
        participant.save(update_fields=["state", "channel", "joined_at", "left_at"])
        patient_id = _patient_id(call)
        _audit(purposes.WAITING if waits else purposes.JOINED, call, user, request, patient_id=patient_id)
        outgoing: list[events.Outgoing] = []
        if previous_channel and previous_channel != channel:
            outgoing.append(events.to_channel(previous_channel, {"type": "call.moved", "call": call.pk}))
        if waits:
            host = next((p for p in joined if is_host(p.user, call)), None)
            if host is not None:
                frame = {"type": "call.waiting", "call": call.pk} | _peer(participant)
                outgoing.append(events.to_channel(host.channel, frame))
        else:
            frame = {"type": "call.participant", "call": call.pk, "state": "joined"} | _peer(participant)
            outgoing += [events.to_channel(p.channel, frame) for p in joined]
        events.deliver_on_commit(outgoing)
        waiting = [_peer(p) for p in _waiting(call)] if call.is_teleconsultation and is_host(user, call) else []
        reply = {
            "type": "call.joined",
            "call": call.pk,
            "kind": call.kind,
            "state": participant.state,
            "host": is_host(user, call),
            "started_at": call.started_at.isoformat(),
            "peers": [] if waits else [_peer(p) for p in joined],
            "waiting": waiting,
        }
        if sfu is not None:
            reply["sfu"] = sfu
        return Joined(reply)


def _joined(call: Call) -> list[Participant]:
    return list(
        Participant.objects.filter(call=call, state=Participant.State.JOINED)
        .select_related("user")
        .order_by("joined_at", "pk")
    )


def _waiting(call: Call) -> list[Participant]:
    return list(
        Participant.objects.filter(call=call, state=Participant.State.WAITING)
        .select_related("user")
        .order_by("joined_at", "pk")
    )


def do_admit(user: User, call: Call, target: Any, request: HttpRequest | None = None) -> None:
    """The host of a teleconsultation lets a waiting participant in."""
    if not isinstance(target, int) or isinstance(target, bool):
        raise CallError("bad_request")
    with transaction.atomic():
        call = _locked(call)
        if call.state != Call.State.ACTIVE:
            raise CallError("ended")
        if not call.is_teleconsultation or not is_host(user, call):
            raise CallError("not_allowed")
        waiting = (
            Participant.objects.select_for_update()
            .select_related("user")
            .filter(call=call, user_id=target, state=Participant.State.WAITING)
            .first()
        )
        if waiting is None:
            raise CallError("not_found")
        joined = _joined(call)
        if len(joined) + 1 > capacity(call):
            raise CallError("full")
        sfu = _let_in_sfu(call, waiting, rejoin=False)
        waiting.state = Participant.State.JOINED
        waiting.admitted_at = timezone.now()
        waiting.save(update_fields=["state", "admitted_at"])
        _audit(purposes.ADMITTED, call, user, request, patient_id=_patient_id(call), admitted=waiting.user_id)
        admitted = {
            "type": "call.admitted",
            "call": call.pk,
            "peers": [_peer(p) for p in joined],
        }
        if sfu is not None:
            admitted["sfu"] = sfu
        frame = {"type": "call.participant", "call": call.pk, "state": "joined"} | _peer(waiting)
        events.deliver_on_commit(
            [events.to_channel(waiting.channel, admitted)] + [events.to_channel(p.channel, frame) for p in joined]
        )


def do_leave(
    user: Any, call: Call, request: HttpRequest | None = None, *, channel: str | None = None, removed: bool = False
) -> bool:
    """Leave the call (``channel``: only if this socket is the one in it). Ends a call nobody is in
    any more. False if the user was not in it. ``removed``: taken out of the conversation, so
    their page is told the call is over for them."""
    with transaction.atomic():
        call = _locked(call)
        found = Participant.objects.select_for_update().filter(
            call=call, user_id=user.pk, state__in=[Participant.State.JOINED, Participant.State.WAITING]
        )
        if channel is not None:
            found = found.filter(channel=channel)
        participant = found.first()
        if participant is None:
            return False
        participant.state = Participant.State.LEFT
        participant.left_at = timezone.now()
        participant.save(update_fields=["state", "left_at"])
        _audit(purposes.LEFT, call, user, request, patient_id=_patient_id(call))
        remaining = _joined(call)
        if call.sfu_room and remaining:  # (nobody left: the end below destroys the room)
            transaction.on_commit(functools.partial(_tidy, janus.revoke, call.sfu_room, participant.pk))
        frame = {
            "type": "call.participant",
            "call": call.pk,
            "state": "left",
            "user": user.pk,
            "name": _name(user),
            "feed": participant.pk,
        }
        outgoing = [events.to_channel(p.channel, frame) for p in remaining]
        if removed and participant.channel:
            over = {"type": "call.ended", "call": call.pk, "conversation": call.conversation_id, "reason": "removed"}
            outgoing.append(events.to_channel(participant.channel, over))
        events.deliver_on_commit(outgoing)
        if call.state == Call.State.ACTIVE and not remaining:
            _end(call, user, request, reason="empty")
        return True


def do_end(user: User, call: Call, request: HttpRequest | None = None) -> None:
    """End the call for everyone: its host only."""
    with transaction.atomic():
        call = _locked(call)
        if call.state != Call.State.ACTIVE:
            return
        if not is_host(user, call):
            raise CallError("not_allowed")
        _end(call, user, request, reason="host")


def end_call(call: Call, actor: Any, request: HttpRequest | None = None, *, reason: str) -> None:
    """End a call inside the caller's transaction (the conversation closed, the call emptied)."""
    with transaction.atomic():
        call = _locked(call)
        if call.state == Call.State.ACTIVE:
            _end(call, actor, request, reason=reason)


def _end(call: Call, actor: Any, request: HttpRequest | None, *, reason: str) -> None:
    now = timezone.now()
    present = list(
        Participant.objects.filter(call=call, state__in=[Participant.State.JOINED, Participant.State.WAITING])
    )
    Participant.objects.filter(pk__in=[p.pk for p in present]).update(state=Participant.State.LEFT, left_at=now)
    call.state = Call.State.ENDED
    call.ended_at = now
    call.save(update_fields=["state", "ended_at"])
    if call.sfu_room:
        transaction.on_commit(functools.partial(_tidy, janus.destroy_room, call.sfu_room))
    everyone = list(Participant.objects.filter(call=call).values_list("user_id", flat=True))
    _audit(
        purposes.ENDED,
        call,
        actor,
        request,
        patient_id=_patient_id(call),
        reason=reason,
        participants=sorted(everyone),
        seconds=int((now - call.started_at).total_seconds()),
    )
    frame = {"type": "call.ended", "call": call.pk, "conversation": call.conversation_id}
    outgoing = [events.to_channel(p.channel, frame) for p in present]
    outgoing.append(events.to_members(call, _member_ids(call), frame))
    events.deliver_on_commit(outgoing)


def leave_socket_calls(user: Any, channel: str) -> int:
    """A socket closed: its user leaves the calls they were in from it."""
    calls = list(
        Call.objects.filter(
            participants__user_id=user.pk,
            participants__channel=channel,
            participants__state__in=[Participant.State.JOINED, Participant.State.WAITING],
            state=Call.State.ACTIVE,
        ).select_related("conversation")
    )
    return sum(do_leave(user, call, channel=channel) for call in calls)


def ringing_for(user: Any, conversation_ids: set[int]) -> list[dict[str, Any]]:
    """The calls in progress in ``conversation_ids`` (the conversations a socket of ``user`` follows)
    that someone is in and ``user`` is not: the ring frames a newly opened page shows, as if it
    had been open when they started. One query (the starter's name comes with it)."""
    if not conversation_ids:
        return []
    calls = (
        Call.objects.filter(
            conversation_id__in=conversation_ids,
            state=Call.State.ACTIVE,
            participants__state=Participant.State.JOINED,
        )
        .exclude(participants__user_id=user.pk, participants__state__in=[Participant.State.JOINED])
        .exclude(started_by_id=user.pk)
        .select_related("started_by")
        .distinct()
        .order_by("started_at", "pk")
    )
    return [_ring(call, call.started_by) for call in calls]
