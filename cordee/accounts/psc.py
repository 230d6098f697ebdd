"""Pro Santé Connect: read its userinfo and bind a login to a verified professional.

PSC's userinfo carries the professional's national id (``SubjectNameID`` and
``preferred_username`` = idNat_PS = ``8`` + RPPS), ``given_name``, ``family_name`` and the
exercises (``SubjectRefPro.exercices[].codeProfession``). A login is accepted only when the RPPS
matches a professional that a structure admin already verified: never by e-mail, never by
creating an account.

PSC authenticates with the CPS card or the e-CPS app, both two-factor: a PSC login is not asked
for Cordée's own second factor (``SecondFactorUnlessPscStage``) and counts as one for the
mandatory-MFA rule (``LOGIN_METHOD_SESSION_KEY``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.stages import AuthenticateStage
from django.http import HttpRequest
from django.shortcuts import render

from cordee.accounts import identifiers
from cordee.accounts.models import Professional
from cordee.audit import services as audit

PROVIDER_ID = "psc"
# How the current session signed in ("psc" or absent); read by the MFA middleware and the audit.
LOGIN_METHOD_SESSION_KEY = "cordee_login_method"
MFA_STAGE = "allauth.mfa.stages.AuthenticateStage"


@dataclass(frozen=True)
class PscClaims:
    rpps: str | None
    given_name: str = ""
    family_name: str = ""
    profession_codes: tuple[str, ...] = field(default_factory=tuple)
    problem: str = ""  # why ``rpps`` is None, for the audit trail

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


def claims_from(extra_data: dict[str, Any]) -> PscClaims:
    """PSC claims from allauth's ``extra_data`` ({"userinfo": …, "id_token": …} or flat).

    Contradictory identities give ``rpps=None``: a userinfo ``sub`` that is not the ID token's
    (OpenID Connect Core §5.3.2), or a ``SubjectNameID`` that differs from ``preferred_username``.
    """
    id_token = extra_data.get("id_token") or {}
    info = extra_data.get("userinfo") or id_token or extra_data  # as allauth's own _pick_data
    names = {"given_name": str(info.get("given_name") or ""), "family_name": str(info.get("family_name") or "")}
    codes = _profession_codes(info.get("SubjectRefPro"))
    if info is not id_token and id_token.get("sub") and info.get("sub") != id_token.get("sub"):
        return PscClaims(rpps=None, profession_codes=codes, problem="subject_mismatch", **names)
    subject_name_id = info.get("SubjectNameID")
    preferred = info.get("preferred_username") or id_token.get("preferred_username")
    if subject_name_id and preferred and str(subject_name_id) != str(preferred):
        return PscClaims(rpps=None, profession_codes=codes, problem="id_mismatch", **names)
    try:
        rpps: str | None = identifiers.rpps_from_id_nat_ps(str(subject_name_id or preferred or ""))
    except identifiers.IdentifierError:
        return PscClaims(rpps=None, profession_codes=codes, problem="malformed_id", **names)
    return PscClaims(rpps=rpps, profession_codes=codes, **names)


def _profession_codes(ref_pro: Any) -> tuple[str, ...]:
    exercices = ref_pro.get("exercices") if isinstance(ref_pro, dict) else None
    if not isinstance(exercices, list):
        return ()
    return tuple(str(ex["codeProfession"]) for ex in exercices if isinstance(ex, dict) and ex.get("codeProfession"))


def match_professional(claims: PscClaims) -> tuple[Professional | None, str]:
    """The verified professional these claims prove, or None and the reason (for the audit)."""
    if claims.rpps is None:
        return None, claims.problem or "malformed_id"
    professional = Professional.objects.select_related("user").filter(rpps=claims.rpps).first()
    if professional is None:
        return None, "unknown_rpps"
    if professional.verification != Professional.Verification.VERIFIED:
        return None, "not_verified"
    if not professional.user.is_active:
        return None, "inactive_account"
    if claims.profession_codes and professional.profession_code not in claims.profession_codes:
        return None, "profession_mismatch"  # the RPPS says another profession: refuse rather than guess
    return professional, ""


def refuse(request: HttpRequest, claims: PscClaims, reason: str, professional: Professional | None = None) -> NoReturn:
    """Audit the refused sign-in and answer with the refusal page (the same page whatever the reason)."""
    audit.record(
        "login.psc_refused",
        request=request,
        actor=None,
        target=professional,
        target_type="" if professional else "rpps",
        target_id="" if professional else (claims.rpps or ""),
        target_display="" if professional else claims.display_name,
        outcome="denied",
        details={"reason": reason, "professions": list(claims.profession_codes)},
    )
    raise ImmediateHttpResponse(render(request, "accounts/psc_refused.html", status=403))


def is_psc_login(login: Any) -> bool:
    """Whether an allauth ``Login`` in progress comes from Pro Santé Connect."""
    sociallogin = (login.signal_kwargs or {}).get("sociallogin")
    return sociallogin is not None and sociallogin.account.provider == PROVIDER_ID


class SecondFactorUnlessPscStage(AuthenticateStage):
    """allauth's second-factor stage, skipped after Pro Santé Connect (CPS / e-CPS are two-factor).

    It also records how the session signed in, at the moment the login completes, so that an
    abandoned PSC attempt cannot vouch for a later password login in the same session.
    """

    def handle(self) -> tuple:
        if is_psc_login(self.login):
            self.request.session[LOGIN_METHOD_SESSION_KEY] = PROVIDER_ID
            return None, True
        self.request.session.pop(LOGIN_METHOD_SESSION_KEY, None)
        return super().handle()


def login_stages(stages: list[str]) -> list[str]:
    """allauth's login stages with the second-factor stage replaced by the PSC-aware one."""
    here = f"{SecondFactorUnlessPscStage.__module__}.{SecondFactorUnlessPscStage.__qualname__}"
    return [here if stage == MFA_STAGE else stage for stage in stages]
