"""The only way views load structures and memberships for a user.

A structure the user does not belong to answers exactly like one that does not exist (404).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from cordee.accounts.models import Membership, Structure, User
from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse


def _pk(user: Any, raw_id: Any, target_type: str, purpose: str, request: HttpRequest | None) -> int:
    try:
        return parse_id(raw_id)
    except Http404:
        refuse(user, target_type=target_type, raw_id=raw_id, purpose=purpose, request=request)


def access_structure(
    user: User, structure_id: Any, *, purpose: str, admin: bool = False, request: HttpRequest | None = None
) -> Structure:
    """A structure ``user`` belongs to (``admin``: administers); the refusal audited with ``purpose``."""
    pk = _pk(user, structure_id, "accounts.structure", purpose, request)
    membership = Membership.objects.select_related("structure").filter(user=user, structure_id=pk).first()
    if membership is None or (admin and membership.role != Membership.Role.ADMIN):
        refuse(user, target_type="accounts.structure", raw_id=pk, purpose=purpose, request=request)
    return membership.structure


def access_membership(
    user: User, membership_id: Any, *, purpose: str, request: HttpRequest | None = None
) -> Membership:
    """A membership in a structure that ``user`` administers; the refusal audited with ``purpose``."""
    pk = _pk(user, membership_id, "accounts.membership", purpose, request)
    membership = Membership.objects.select_related("structure", "user").filter(pk=pk).first()
    if (
        membership is None
        or not Membership.objects.filter(
            user=user, structure_id=membership.structure_id, role=Membership.Role.ADMIN
        ).exists()
    ):
        refuse(user, target_type="accounts.membership", raw_id=pk, purpose=purpose, request=request)
    return membership
