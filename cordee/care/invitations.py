"""A professional of a patient's care team invites that patient to Cordée.

The invitation is bound to the patient (``Invitation.patient``): the account created from its link
becomes the patient's own, and the patient's names stay in their encrypted identity. Only a
professional whom the care team opens the patient to may send it (not staff, not an emergency
grant), in the name of one of their structures; the e-mail carries only the link.
"""

from __future__ import annotations

from django.db.models import QuerySet

from cordee.accounts.models import Invitation, Membership, Patient, User


def inviting_structures(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("structure").order_by("structure__name")


def pending_invitations(patient: Patient) -> list[Invitation]:
    return [invitation for invitation in patient.invitations.order_by("-created_at")[:5] if invitation.is_pending]
