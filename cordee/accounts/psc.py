"""Pro Santé Connect: read its userinfo and bind a login to a verified professional.

PSC's userinfo carries the professional's national id (``SubjectNameID`` and
``preferred_username`` = idNat_PS = ``8`` + RPPS), ``given_name``, ``family_name`` and the
exercises (``SubjectRefPro.exercices[].codeProfession``). A login is accepted only when the RPPS
matches a professional that a structure admin already verified: never by e-mail, never by
creating an account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from cordee.accounts import identifiers
from cordee.accounts.models import Professional
from cordee.audit import services as audit

PROVIDER_ID = "psc"


@dataclass(frozen=True)
class PscClaims:
    rpps: str | None
    given_name: str = ""
    family_name: str = ""
    profession_codes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


def claims_from(extra_data: dict[str, Any]) -> PscClaims:
    """PSC claims from allauth's ``extra_data`` ({"userinfo": …, "id_token": …} or flat)."""
    info = extra_data.get("userinfo") or extra_data
    id_token = extra_data.get("id_token") or {}
    raw_id = info.get("SubjectNameID") or info.get("preferred_username") or id_token.get("preferred_username") or ""
    try:
        rpps: str | None = identifiers.rpps_from_id_nat_ps(str(raw_id))
    except identifiers.IdentifierError:
        rpps = None
    ref_pro = info.get("SubjectRefPro") or {}
    exercices = ref_pro.get("exercices") if isinstance(ref_pro, dict) else None
    codes = tuple(
        str(ex.get("codeProfession")) for ex in (exercices or []) if isinstance(ex, dict) and ex.get("codeProfession")
    )
    return PscClaims(
        rpps=rpps,
        given_name=str(info.get("given_name") or ""),
        family_name=str(info.get("family_name") or ""),
        profession_codes=codes,
    )


def find_verified_professional(claims: PscClaims) -> Professional | None:
    if claims.rpps is None:
        return None
    professional = (
        Professional.objects.select_related("user")
        .filter(rpps=claims.rpps, verification=Professional.Verification.VERIFIED, user__is_active=True)
        .first()
    )
    if professional is None:
        return None
    if claims.profession_codes and professional.profession_code not in claims.profession_codes:
        return None  # the RPPS says another profession: refuse rather than guess
    return professional


def do_bind(request: HttpRequest, sociallogin: Any, professional: Professional, claims: PscClaims) -> None:
    """Attach the PSC identity to the professional's account (first time) and audit it."""
    user = professional.user
    with transaction.atomic():
        if sociallogin.is_existing:
            if sociallogin.user.pk != user.pk:
                # The PSC subject was bound to another account: refuse to switch silently.
                from allauth.core.exceptions import ImmediateHttpResponse
                from django.shortcuts import render

                audit.record("login.psc_refused", request=request, actor=None, target=professional, outcome="denied")
                raise ImmediateHttpResponse(render(request, "accounts/psc_refused.html", status=403))
            return
        sociallogin.connect(request, user)
        audit.record(
            "account.psc_bound",
            request=request,
            actor=user,
            target=professional,
            details={"professions": list(claims.profession_codes)},
        )
