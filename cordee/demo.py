"""The demo data (``make demo``, and the tests' personas): each app seeds its part, from the top.

Only for the local demo and tests: the personas' password and TOTP secret are public
(``cordee.accounts.demo``). ``manage.py seed_demo`` refuses to run with DEBUG off.
"""

from __future__ import annotations

from django.db import transaction

from cordee.accounts.demo import seed_personas
from cordee.accounts.models import User
from cordee.care.demo import seed_care_team
from cordee.documents.demo import seed_record
from cordee.expertise.demo import seed_requests
from cordee.imaging.demo import seed_imaging
from cordee.library.demo import seed as seed_library
from cordee.messaging.demo import seed_conversations
from cordee.prescriptions.demo import seed_pharmacist


@transaction.atomic
def seed(*, with_mfa: bool = True, with_documents: bool = False) -> dict[str, User]:
    """Idempotent: the personas, Paula's care team (Alice, Bob, Sam acting for Alice) and the
    conversations (Alice↔Bob, Paula's care-team thread, Alice↔Paula); with ``with_documents``
    (``seed_demo``; the tests start from an empty record) two documents in Paula's record and the
    library's synthetic articles with a collection of Alice's."""
    users = seed_personas(with_mfa=with_mfa)
    seed_care_team(users)
    seed_conversations(users)
    if with_documents:
        seed_record(users)
        seed_requests(users)  # a referral and a tele-expertise request from Alice to Charlie
        seed_library(users)
        seed_imaging(users)
        seed_pharmacist(users, with_mfa=with_mfa)  # the tests ask for him (``phil``)
    return users
