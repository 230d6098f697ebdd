"""Calls held from a conversation. The media go between browsers (or through TURN), never here:
Cordée stores who was in which call and when, nothing of what was said or shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Call(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        TELECONSULTATION = "teleconsultation", _("Teleconsultation")

    class State(models.TextChoices):
        ACTIVE = "active", _("in progress")
        ENDED = "ended", _("ended")

    conversation = models.ForeignKey("messaging.Conversation", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CALL)
    state = models.CharField(max_length=8, choices=State.choices, default=State.ACTIVE)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The Janus room of a call held through the SFU (a conversation larger than the mesh), else null.
    sfu_room = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            # One call in progress per conversation: starting another joins it.
            models.UniqueConstraint(
                fields=["conversation"], condition=Q(state="active"), name="video_one_active_call_per_conversation"
            ),
        ]

    def __str__(self) -> str:
        return f"call #{self.pk} ({self.kind})"

    @property
    def is_teleconsultation(self) -> bool:
        return self.kind == self.Kind.TELECONSULTATION


class Participant(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", _("in the waiting room")
        JOINED = "joined", _("in the call")
        LEFT = "left", _("left")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.WAITING)
    # The socket (channel name) the participant signals from: frames for them go there only.
    channel = models.CharField(max_length=200, blank=True, default="")
    joined_at = models.DateTimeField(null=True, blank=True)
    admitted_at = models.DateTimeField(null=True, blank=True)  # teleconsultation: let in by the professional
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["call", "user"], name="video_one_participant_row_per_user")]

    def __str__(self) -> str:
        return f"participant {self.user_id} of call #{self.call_id}"


class Appointment(models.Model):
    """A teleconsultation planned in a professional↔patient thread: when, for how long, who planned
    it. The professional starts the call at that time (from the thread, as any teleconsultation);
    starting it near the planned time marks the appointment held, with its call."""

    class State(models.TextChoices):
        PLANNED = "planned", _("planned")
        CANCELLED = "cancelled", _("cancelled")
        HELD = "held", _("held")

    conversation = models.ForeignKey("messaging.Conversation", on_delete=models.CASCADE, related_name="+")
    planned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    starts_at = models.DateTimeField()
    minutes = models.PositiveSmallIntegerField(default=20)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PLANNED)
    call = models.ForeignKey(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)  # the members' push "starts soon"

    class Meta:
        indexes = [
            models.Index(fields=["conversation", "state", "starts_at"], name="video_appointment_thread_idx"),
            models.Index(fields=["state", "starts_at"], name="video_appointment_due_idx"),
        ]

    def __str__(self) -> str:
        return f"appointment #{self.pk}"

    @property
    def ends_at(self) -> Any:
        return self.starts_at + dt.timedelta(minutes=self.minutes)
