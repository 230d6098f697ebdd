"""The only code that changes accounts, structures and identities; each ``do_*`` audits in its own
transaction, each ``check_*`` validates then calls a ``do_*``.

- ``members``: roles, security officers, whom staff act for, chosen modules;
- ``invitations``: a structure's or a patient's invitations, accepting them, new structures;
- ``patients``: identities (INS, strict traits, status) and their exact look-ups;
- ``onboarding``: what happens when an invited person creates their account;
- ``lockout``: failed logins, locks and throttles;
- ``psc``: signing in with Pro Santé Connect.

The names callers use are re-exported here.
"""

from cordee.accounts.services.invitations import (
    do_accept_invitation,
    do_create_structure,
    do_invite,
    do_invite_patient,
    do_set_structure_contact,
    pending_invitation,
    token_hash,
)
from cordee.accounts.services.members import (
    can_act_for,
    do_change_role,
    do_set_acts_for,
    do_set_modules,
    do_set_security_officer,
    is_structure_admin,
)
from cordee.accounts.services.patients import (
    check_patient_traits,
    do_register_patient,
    do_set_identity_status,
    find_patients_by_ins,
    find_patients_by_name_and_birth_date,
)

__all__ = [
    "can_act_for",
    "check_patient_traits",
    "do_accept_invitation",
    "do_change_role",
    "do_create_structure",
    "do_set_structure_contact",
    "do_invite",
    "do_invite_patient",
    "do_register_patient",
    "do_set_acts_for",
    "do_set_identity_status",
    "do_set_modules",
    "do_set_security_officer",
    "find_patients_by_ins",
    "find_patients_by_name_and_birth_date",
    "is_structure_admin",
    "pending_invitation",
    "token_hash",
]
