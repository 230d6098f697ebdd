"""The only way views load structures and memberships for a user.

A structure the user does not belong to answers exactly like one that does not exist (404).
"""

from __future__ import annotations

from django.http import Http404

from cordee.accounts.models import Membership, Structure, User
from cordee.lib.ids import parse_id


def access_structure(user: User, structure_id: int | str, *, purpose: str, admin: bool = False) -> Structure:
    structure_pk = parse_id(structure_id)
    membership = Membership.objects.select_related("structure").filter(user=user, structure_id=structure_pk).first()
    if membership is None or (admin and membership.role != Membership.Role.ADMIN):
        raise Http404
    return membership.structure


def access_membership(user: User, membership_id: int | str, *, purpose: str) -> Membership:
    """A membership in a structure that ``user`` administers."""
    pk = parse_id(membership_id)
    membership = Membership.objects.select_related("structure", "user").filter(pk=pk).first()
    if (
        membership is None
        or not Membership.objects.filter(
            user=user, structure_id=membership.structure_id, role=Membership.Role.ADMIN
        ).exists()
    ):
        raise Http404
    return membership
