"""The care relationship: who is in a patient's care team, what the patient opposed, and
emergency (break-the-glass) grants.

Rows are history: leaving a team or withdrawing an opposition sets ``removed_at`` /
``withdrawn_at``, nothing is deleted. Who did what is kept as an id plus a display copy (the
audit service's ``actor_display``), so the history survives the accounts it names. The access
rule itself lives in ``access.py``; state changes in ``services.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.accounts.display import person_name
from cordee.vault.errors import VaultError
from cordee.vault.fields import EncryptedTextField
from cordee.vault.models import EncryptedModel


class CareTeamMember(models.Model):
    """One stay of a professional or staff member in a patient's care team (équipe de soins).

    Sharing inside the team rests on the patient's presumed consent (art. L.1110-4 CSP); an
    ``Opposition`` withdraws it. Staff reach the patient only for ``acting_for``, a verified
    professional of the same team they act for.
    """

    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="care_team")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="care_teams"
    )
    member_display = models.JSONField(default=dict, blank=True)
    acting_for = models.ForeignKey(
        "accounts.Professional", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)
    added_by_id = models.BigIntegerField(null=True, blank=True)
    added_by_display = models.JSONField(default=dict, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by_id = models.BigIntegerField(null=True, blank=True)
    removed_by_display = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("care team member")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "member"], condition=Q(removed_at__isnull=True), name="care_team_one_active_stay"
            )
        ]
        indexes = [models.Index(fields=["member", "removed_at"], name="care_team_member_idx")]

    def __str__(self) -> str:
        return f"care team #{self.patient_id}: user {self.member_id}"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class Opposition(models.Model):
    """A patient's recorded opposition to sharing, within the whole team or with one person."""

    class Scope(models.TextChoices):
        TEAM = "team", _("Sharing within the whole care team")
        MEMBER = "member", _("Sharing with one person")

    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="oppositions")
    scope = models.CharField(max_length=8, choices=Scope.choices)
    # With scope MEMBER: the person; SET_NULL leaves an inert opposition, never a team-wide one.
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    member_display = models.JSONField(default=dict, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by_id = models.BigIntegerField(null=True, blank=True)
    recorded_by_display = models.JSONField(default=dict, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by_id = models.BigIntegerField(null=True, blank=True)
    withdrawn_by_display = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("opposition")
        indexes = [models.Index(fields=["patient", "withdrawn_at"], name="care_opposition_active_idx")]

    def __str__(self) -> str:
        return f"opposition #{self.pk} ({self.scope}) of patient #{self.patient_id}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None

    @property
    def recorded_by_name(self) -> str:
        return person_name(self.recorded_by_display, self.recorded_by_id)

    @property
    def withdrawn_by_name(self) -> str:
        return person_name(self.withdrawn_by_display, self.withdrawn_by_id)


class BreakGlassGrant(EncryptedModel):
    """Emergency access of a verified professional to a patient outside their care teams.

    The written reason lives here only (not in the audit trail), encrypted with the patient's
    data key since it may describe their condition: the security officers read it when they
    review the access; erasing the patient makes it unreadable along with the rest of their data.
    """

    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="break_glass_grants"
    )
    professional_display = models.JSONField(default=dict, blank=True)
    patient = models.ForeignKey("accounts.Patient", on_delete=models.CASCADE, related_name="break_glass_grants")
    reason = EncryptedTextField(owner="patient")
    granted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("break-the-glass access")
        indexes = [models.Index(fields=["professional", "patient", "expires_at"], name="care_break_glass_idx")]

    def __str__(self) -> str:
        return f"break-the-glass #{self.pk} on patient #{self.patient_id}"

    @property
    def is_active(self) -> bool:
        return self.expires_at > timezone.now()

    @property
    def readable_reason(self) -> str:
        """The reason, or a notice once the patient's data were erased (crypto-shredded)."""
        try:
            return self.reason
        except VaultError:
            return str(_("(erased with the patient's data)"))
