"""Signing in with Pro Santé Connect: let it through for the verified professional its RPPS names,
and bind the PSC identity to that account at the first sign-in (audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from cordee.accounts.models import Professional
from cordee.accounts.psc import PscClaims, claims_from, match_professional, refuse
from cordee.audit import services as audit


def check_login(request: HttpRequest, sociallogin: Any) -> None:
    """Let a PSC login through only for the verified professional its RPPS names; else refuse (403)."""
    claims = claims_from(sociallogin.account.extra_data)
    professional, reason = match_professional(claims)
    if professional is None:
        refuse(request, claims, reason)
    if sociallogin.is_existing and sociallogin.user.pk != professional.user_id:
        # This PSC subject is bound to another account: refuse to switch silently.
        refuse(request, claims, "bound_to_other_account", professional)
    if sociallogin.state.get("process") == "connect" and request.user.pk != professional.user_id:
        refuse(request, claims, "connect_to_other_account", professional)
    if not sociallogin.is_existing:
        do_bind(request, sociallogin, professional, claims)


def do_bind(request: HttpRequest, sociallogin: Any, professional: Professional, claims: PscClaims) -> None:
    """Attach the PSC identity to the professional's account (first sign-in) and audit it."""
    user = professional.user
    with transaction.atomic():
        sociallogin.connect(request, user)
        audit.record(
            "account.psc_bound",
            request=request,
            actor=user,
            target=professional,
            details={"professions": list(claims.profession_codes), "uid": sociallogin.account.uid},
        )
