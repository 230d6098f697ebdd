"""Referrals (adressage), and what referrals and tele-expertise requests share.

- ``Referral``: a professional of the patient's care team sends the patient to a named
  professional. Its clinical text (reason, summary, treatments, allergies, questions, the decline
  reason, the appointment's place, the report) is health data: encrypted with the patient's key,
  bound to the row's ``uuid``.
- ``RequestEvent``: a line of a request's timeline (each transition) or of its thread (a
  clarification question, its answer). ``basis`` says which kind of request ("referral" or
  "expertise", the app above imports this one); its text is encrypted like the request's.
- ``RequestAttachment``: a reference to an object of another app (``kind`` + ``object_id``,
  resolved through ``cordee.lib.attachables``), always of the request's patient.

Who did what is kept as an id plus a display copy (``audit.actor_display``), so that the history
outlives the accounts.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.vault.fields import EncryptedCharField, EncryptedTextField
from cordee.vault.models import EncryptedModel

REFERRAL, EXPERTISE = "referral", "expertise"


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    WEEK = "week", _("Within a week")
    URGENT = "urgent", _("Urgent (with a phone call)")


# How long the receiver has to answer (accept, decline or redirect) before the referral is overdue.
ANSWER_DELAY = {
    Urgency.ROUTINE: dt.timedelta(days=30),
    Urgency.WEEK: dt.timedelta(days=7),
    Urgency.URGENT: dt.timedelta(days=1),
}


class Referral(EncryptedModel):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        REDIRECTED = "redirected", _("Redirected")
        APPOINTMENT = "appointment", _("Appointment proposed")
        SEEN = "seen", _("Patient seen")
        REPORTED = "reported", _("Report returned")
        CLOSED = "closed", _("Closed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="+")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    requester_display = models.JSONField(default=dict)
    receiver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    receiver_display = models.JSONField(default=dict)
    # Or a structure's service (a specialty): any verified professional of it with it may take it.
    structure = models.ForeignKey(
        "accounts.Structure", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    specialty = models.CharField(max_length=120, blank=True, default="")
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.ROUTINE)
    reason = EncryptedTextField(_("reason"), owner="patient", row_key="uuid")
    summary = EncryptedTextField(_("clinical summary"), owner="patient", row_key="uuid", blank=True)
    treatments = EncryptedTextField(_("current treatments"), owner="patient", row_key="uuid", blank=True)
    allergies = EncryptedTextField(_("allergies"), owner="patient", row_key="uuid", blank=True)
    questions = EncryptedTextField(_("precise questions"), owner="patient", row_key="uuid", blank=True)
    decline_reason = EncryptedTextField(owner="patient", row_key="uuid", null=True, blank=True)
    appointment_at = models.DateTimeField(null=True, blank=True)
    appointment_place = EncryptedCharField(max_length=200, owner="patient", row_key="uuid", null=True, blank=True)
    report = EncryptedTextField(owner="patient", row_key="uuid", null=True, blank=True)
    # The patient opposed sharing with the receiver: they did not join the care team.
    receiver_opposed = models.BooleanField(default=False)
    receiver_joined = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)  # the answer is due (by urgency)
    answered_at = models.DateTimeField(null=True, blank=True)  # accepted, declined or redirected
    reported_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("referral")
        indexes = [
            models.Index(fields=["requester", "-updated_at", "-id"], name="referrals_sent_idx"),
            # The received list's keys and count from the index alone (state: drafts left out).
            models.Index(fields=["receiver", "-updated_at", "-id", "state"], name="referrals_received_idx"),
            models.Index(fields=["receiver", "state"], name="referrals_waiting_idx"),  # the navigation's count
            models.Index(fields=["patient", "-created_at"], name="referrals_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"referral #{self.pk}"  # never the reason: health data

    @property
    def overdue(self) -> bool:
        return (
            self.answered_at is None
            and self.due_at is not None
            and self.due_at < timezone.now()
            and (self.state in (self.State.SENT, self.State.REDIRECTED))
        )

    @property
    def requester_name(self) -> str:
        return str(self.requester_display.get("name", ""))

    @property
    def receiver_name(self) -> str:
        return str(self.receiver_display.get("name", "")) or self.specialty


class RequestEvent(EncryptedModel):
    """One line of a request's timeline or thread."""

    class Kind(models.TextChoices):
        TRANSITION = "transition", _("Step")
        QUESTION = "question", _("Question")
        REPLY = "reply", _("Reply to the question")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    basis = models.CharField(max_length=10)  # REFERRAL or EXPERTISE
    request_id = models.BigIntegerField()
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TRANSITION)
    state = models.CharField(max_length=12, blank=True, default="")  # the state it led to
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    actor_display = models.JSONField(default=dict)
    text = EncryptedTextField(owner="patient", row_key="uuid", null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    label = ""  # not a field: the step in words, set by ``workflow.events_of``

    class Meta:
        verbose_name = _("request event")
        indexes = [models.Index(fields=["basis", "request_id", "at"], name="referrals_event_idx")]

    def __str__(self) -> str:
        return f"{self.basis} #{self.request_id}: {self.kind} {self.state}"

    @property
    def actor_name(self) -> str:
        return str(self.actor_display.get("name", ""))


class RequestAttachment(models.Model):
    """A reference to an object of another app, of the request's patient (``lib.attachables``)."""

    basis = models.CharField(max_length=10)
    request_id = models.BigIntegerField()
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    # The report's files are added by the receiver; the request's by the requester.
    in_report = models.BooleanField(default=False)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("request attachment")
        constraints = [
            models.UniqueConstraint(
                fields=["basis", "request_id", "kind", "object_id"], name="referrals_attachment_once"
            )
        ]
        indexes = [models.Index(fields=["basis", "request_id"], name="referrals_attachment_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.object_id} of {self.basis} #{self.request_id}"
