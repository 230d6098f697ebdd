"""Calls held from a conversation. The media go between browsers (or through TURN), never here:
Cordée stores who was in which call and when, nothing of what was said or shown."""

from __future__ import annotations

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
