"""Loading a structure's professional for its administrator: the only way the Annuaire views do.

A professional who is not a member of the structure answers exactly like one that does not
exist (404), as does a structure the user does not administer.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from cordee.accounts.access import access_structure
from cordee.accounts.models import Professional, Structure, User
from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse


def access_structure_professional(
    user: User, structure_id: Any, professional_id: Any, *, purpose: str, request: HttpRequest | None = None
) -> tuple[Structure, Professional]:
    structure = access_structure(user, structure_id, purpose=purpose, admin=True, request=request)
    try:
        pk = parse_id(professional_id)
    except Http404:
        refuse(user, target_type="accounts.professional", raw_id=professional_id, purpose=purpose, request=request)
    professional = (
        Professional.objects.select_related("user").filter(pk=pk, user__memberships__structure=structure).first()
    )
    if professional is None:
        refuse(user, target_type="accounts.professional", raw_id=pk, purpose=purpose, request=request)
    return structure, professional
