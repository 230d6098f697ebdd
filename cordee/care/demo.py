"""Demo care team: Paula's team is Alice (who added herself), Bob, and Sam acting for Alice.

Charlie stays outside it. Rows are written directly, like the rest of the demo data, without
audit entries or signals; idempotent (an active stay is never duplicated).
"""

from __future__ import annotations

from cordee.accounts.models import User
from cordee.audit.services import actor_display
from cordee.care.models import CareTeamMember


def seed_care_team(users: dict[str, User]) -> None:
    patient = users["paula"].patient
    alice = users["alice"]
    team = [(alice, None), (users["bob"], None), (users["sam"], alice.professional)]
    for member, acting_for in team:
        CareTeamMember.objects.get_or_create(
            patient=patient,
            member=member,
            removed_at=None,
            defaults={
                "member_display": actor_display(member),
                "acting_for": acting_for,
                "added_by_id": alice.pk,
                "added_by_display": actor_display(alice),
            },
        )
