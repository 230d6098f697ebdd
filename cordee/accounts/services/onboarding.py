"""What happens when an invited person creates their account."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from cordee.accounts.models import Invitation, Professional, Staff, User
from cordee.accounts.services import do_accept_invitation
from cordee.audit import services as audit
from cordee.lib import modules


def do_complete_signup(request: HttpRequest | None, user: User, invitation: Invitation, data: dict[str, Any]) -> None:
    with transaction.atomic():
        if invitation.kind != User.Kind.PATIENT:  # a patient's name is kept encrypted, in their identity
            user.first_name = data["first_name"]
            user.last_name = data["last_name"]
        user.kind = invitation.kind
        user.modules = modules.default_modules(invitation.kind)
        user.save(update_fields=["first_name", "last_name", "kind", "modules"])
        if invitation.kind == User.Kind.PROFESSIONAL:
            Professional.objects.create(
                user=user,
                rpps=data["rpps"],
                profession_code=data["profession_code"],
                specialty=data.get("specialty", ""),
            )
        elif invitation.kind == User.Kind.STAFF:
            Staff.objects.create(user=user, function=data["function"])
        audit.record("account.created", actor=user, request=request, target=user, details={"kind": user.kind})
        do_accept_invitation(invitation, user, request=request)
