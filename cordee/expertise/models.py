"""Tele-expertise (avis): a professional asks an expert's opinion about a patient.

The request goes to a named expert, or to a specialty of a structure (any verified professional
of it with that specialty may take it). The patient's consent (how, when) is recorded before it
can be sent. The deadline (``deadline_days``, default 7) runs from the acceptance and pauses
while a clarification question waits for the requester's answer (``paused_at``, the paused time
added to ``due_at`` when the answer comes).

Its timeline, thread and attachments are ``referrals``' shared ``RequestEvent`` and
``RequestAttachment`` (``basis="expertise"``). Clinical text is encrypted with the patient's key.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.vault.fields import EncryptedTextField
from cordee.vault.models import EncryptedModel

DEFAULT_DEADLINE_DAYS = 7


class Expertise(EncryptedModel):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        QUESTION = "question", _("Question to the requester")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    class Consent(models.TextChoices):
        ORAL = "oral", _("Orally, during a consultation")
        WRITTEN = "written", _("In writing")
        PORTAL = "portal", _("Through Cordée, by the patient")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="+")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    requester_display = models.JSONField(default=dict)
    expert = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    expert_display = models.JSONField(default=dict)
    # Or a specialty of a structure: any verified professional of it with the specialty may take it.
    structure = models.ForeignKey(
        "accounts.Structure", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    specialty = models.CharField(max_length=120, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    question = EncryptedTextField(_("question"), owner="patient", row_key="uuid")
    consent_how = models.CharField(max_length=8, choices=Consent.choices, blank=True, default="")
    consent_at = models.DateField(null=True, blank=True)
    consent_recorded_by_id = models.BigIntegerField(null=True, blank=True)
    deadline_days = models.PositiveSmallIntegerField(default=DEFAULT_DEADLINE_DAYS)
    decline_reason = EncryptedTextField(owner="patient", row_key="uuid", null=True, blank=True)
    answer = EncryptedTextField(owner="patient", row_key="uuid", null=True, blank=True)
    course_of_action = EncryptedTextField(owner="patient", row_key="uuid", null=True, blank=True)
    consultation_needed = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("tele-expertise request")
        indexes = [
            models.Index(fields=["requester", "-updated_at", "-id"], name="expertise_sent_idx"),
            # The received list's keys and count from the index alone (state: drafts left out).
            models.Index(fields=["expert", "-updated_at", "-id", "state"], name="expertise_received_idx"),
            models.Index(fields=["expert", "state"], name="expertise_waiting_idx"),  # the navigation's count
            models.Index(fields=["structure", "specialty", "state"], name="expertise_pool_idx"),
        ]

    def __str__(self) -> str:
        return f"tele-expertise #{self.pk}"

    @property
    def overdue(self) -> bool:
        return (
            self.state == self.State.ACCEPTED
            and self.paused_at is None
            and self.due_at is not None
            and self.due_at < timezone.now()
        )

    @property
    def requester_name(self) -> str:
        return str(self.requester_display.get("name", ""))

    @property
    def expert_name(self) -> str:
        return str(self.expert_display.get("name", ""))
