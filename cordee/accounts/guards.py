"""Who may open patient data and who may prescribe, as far as their identity goes.

These are gates, not access rules: passing one is necessary, never sufficient. Which patient a
user may open is still decided by the care relationship (``access_*`` getters of the care app).

- A professional passes only once their identity is **verified** against the Annuaire Santé
  (unverified and rejected professionals pass neither gate).
- Prescribing is further limited to the professions of ``PRESCRIBING_PROFESSIONS``.
- Staff (secretaries, reception, research associates) **never prescribe**. They open patient data
  only for a verified professional they act for: pass ``acting_for`` to check that one; without
  it the gate says whether they act for at least one verified professional (the gate of the
  patient area as a whole).
- Patients pass neither gate: reading their own record goes through the patient's own access
  rules, not through these.
- Inactive accounts and anonymous users pass nothing.
"""

from __future__ import annotations

from typing import Any

from cordee.accounts.models import Professional, User
from cordee.accounts.professions import PRESCRIBING_PROFESSIONS
from cordee.lib.users import is_active_user


def verified_professional(user: Any) -> Professional | None:
    """The user's professional profile if they are an active, verified professional."""
    if not is_active_user(user) or user.kind != User.Kind.PROFESSIONAL:
        return None
    professional = getattr(user, "professional", None)
    return professional if professional is not None and professional.is_verified else None


def can_open_patient_data(user: Any, *, acting_for: Professional | None = None) -> bool:
    if verified_professional(user) is not None:
        return True
    if not is_active_user(user) or user.kind != User.Kind.STAFF:
        return False
    staff = getattr(user, "staff", None)
    if staff is None:
        return False
    represented = staff.acts_for.filter(verification=Professional.Verification.VERIFIED, user__is_active=True)
    if acting_for is not None:
        represented = represented.filter(pk=acting_for.pk)
    return represented.exists()


def can_prescribe(user: Any) -> bool:
    professional = verified_professional(user)
    return professional is not None and professional.profession_code in PRESCRIBING_PROFESSIONS
