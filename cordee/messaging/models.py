"""Conversations, their members, messages and attachments.

Every conversation numbers its events with ``last_seq``: a new message takes the next number as
its ``seq`` (its place in the thread, never changed) and as its ``rev_seq``; an edit or a
deletion takes the next number as the message's new ``rev_seq``. A client that saw everything up
to number N catches up with the messages whose ``rev_seq`` is above N: nothing lost, each message
once, in its latest state. Numbers are allocated under the conversation's row lock
(``sending.allocate_seq``), so commits happen in number order within a conversation.

Bodies and attachment names are health data: they are stored only encrypted with the
conversation's own data key (the conversation is a vault owner). Models stay thin: state changes
go through ``services.py`` and ``sending.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.vault.fields import EncryptedCharField, EncryptedTextField
from cordee.vault.models import EncryptedModel, VaultOwner


class Conversation(VaultOwner):
    """A conversation, and the owner of the data key that encrypts its messages and files."""

    class Kind(models.TextChoices):
        DIRECT = "direct", _("Direct conversation")
        GROUP = "group", _("Group")
        CARE_TEAM = "care_team", _("Care-team thread")
        PATIENT = "patient", _("Conversation with a patient")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = EncryptedCharField(_("name"), max_length=120, null=True, blank=True)  # groups only
    patient = models.ForeignKey(
        "accounts.Patient", on_delete=models.CASCADE, null=True, blank=True, related_name="conversations"
    )
    # One conversation per pair (direct: "d:<user>:<user>"), per patient (care team: "c:<patient>"),
    # per professional and patient ("p:<user>:<patient>"); groups have none.
    pair_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_seq = models.BigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    replies_closed = models.BooleanField(default=False)  # patient threads: the patient may not answer
    # Patient threads: when the patient closed it (the professional left it; nobody writes any more).
    closed_at = models.DateTimeField(null=True, blank=True)

    # Set by ``access.access_conversation``: the reader's Member row, None when staff read delegated.
    membership: Member | None = None

    class Meta:
        verbose_name = _("conversation")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["care_team", "patient"], patient__isnull=False)
                | Q(kind__in=["direct", "group"], patient__isnull=True),
                name="messaging_conversation_patient_iff_patient_kind",
            )
        ]

    def __str__(self) -> str:
        return f"conversation #{self.pk} ({self.kind})"

    @property
    def is_patient_linked(self) -> bool:
        return self.patient_id is not None

    @property
    def vault_patient_id(self) -> int | None:
        return self.patient_id


class Member(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        ADMIN = "admin", _("Administrator")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversation_members")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    last_read_seq = models.BigIntegerField(default=0)
    # Set when a message arrives for this member and no e-mail notice is on its way yet.
    email_pending_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("conversation member")
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="messaging_member_unique")]
        indexes = [models.Index(fields=["user", "conversation"], name="messaging_member_user_idx")]

    def __str__(self) -> str:
        return f"user {self.user_id} in conversation {self.conversation_id}"


class Message(EncryptedModel):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.BigIntegerField()
    rev_seq = models.BigIntegerField()
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Encrypted with the conversation's key, bound to its place (seq); None once deleted.
    body = EncryptedTextField(owner="conversation", row_key="seq", null=True, blank=True)
    # A card sent with the text (a library reference…): JSON ``cards.clean_card`` checked,
    # encrypted as the body (what a thread about a patient points to is health data).
    card = EncryptedTextField(owner="conversation", row_key="seq", null=True, blank=True)
    urgent = models.BooleanField(default=False)
    mentions = models.JSONField(default=list, blank=True)  # user ids
    client_key = models.CharField(max_length=64)  # chosen by the sending client: a resend is the same message
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="messaging_message_seq_unique"),
            models.UniqueConstraint(fields=["conversation", "rev_seq"], name="messaging_message_rev_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_key"], name="messaging_message_idempotency"
            ),
        ]

    def __str__(self) -> str:
        return f"message #{self.pk} ({self.conversation_id}:{self.seq})"


class Attachment(EncryptedModel):
    """A file sent in a conversation: stored encrypted in the blob store, linked to a message once sent."""

    class Preview(models.TextChoices):
        NONE = "", _("No preview")
        IMAGE = "image", _("Image")
        PDF = "pdf", _("First page of the PDF")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Encrypted with the conversation's key, bound to the file's blob.
    name = EncryptedCharField(max_length=255, owner="conversation", row_key="blob_id")
    content_type = models.CharField(max_length=100)  # sniffed from the bytes, never the client's word
    size = models.BigIntegerField()
    blob = models.ForeignKey("vault.Blob", on_delete=models.PROTECT, related_name="+")
    preview = models.CharField(max_length=5, choices=Preview.choices, blank=True, default="")
    preview_blob = models.ForeignKey("vault.Blob", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("attachment")

    def __str__(self) -> str:
        return f"attachment #{self.pk}"


class NoticeState(models.Model):
    """When a user was last told by e-mail that secure messages wait (at most one notice per period)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"notice state of user {self.user_id}"
