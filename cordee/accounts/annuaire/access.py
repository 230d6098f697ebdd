"""Loading a structure's professional for its administrator: the only way the Annuaire views do.

A professional who is not a member of the structure answers exactly like one that does not
exist (404), as does a structure the user does not administer.
"""

from __future__ import annotations

from django.http import Http404

from cordee.accounts.access import access_structure
from cordee.accounts.models import Professional, Structure, User
from cordee.lib.ids import parse_id


def access_structure_professional(
    user: User, structure_id: int | str, professional_id: int | str, *, purpose: str
) -> tuple[Structure, Professional]:
    structure = access_structure(user, structure_id, purpose=purpose, admin=True)
    pk = parse_id(professional_id)
    professional = (
        Professional.objects.select_related("user").filter(pk=pk, user__memberships__structure=structure).first()
    )
    if professional is None:
        raise Http404
    return structure, professional
