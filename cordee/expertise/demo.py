"""Demo referrals and tele-expertise (``manage.py seed_demo``, not every test): Alice refers Paula
to Charlie (sent, waiting for his answer) and asks his opinion (consent recorded, sent). Through
the services (audited as real acts); idempotent: nothing is added once a referral exists."""

from __future__ import annotations

from django.utils import timezone

from cordee.accounts.models import User
from cordee.expertise.services import check_create_expertise
from cordee.referrals.models import Referral
from cordee.referrals.services import check_create_referral


def seed_requests(users: dict[str, User]) -> None:
    alice, charlie, patient = users["alice"], users["charlie"], users["paula"].patient
    if Referral.objects.filter(patient=patient).exists():
        return
    check_create_referral(
        alice,
        patient.pk,
        receiver_id=charlie.pk,
        reason="Dyspnée d'effort récente, antécédent de décompensation cardiaque",
        urgency="week",
        summary="Femme de 41 ans, hospitalisée il y a 40 jours pour décompensation cardiaque.",
        treatments="Furosémide 40 mg, bisoprolol 2,5 mg",
        questions="Faut-il adapter le traitement ? Échographie de contrôle ?",
        send=True,
    )
    check_create_expertise(
        alice,
        patient.pk,
        question="Kaliémie à 5,4 mmol/L sous furosémide : faut-il changer quelque chose ?",
        expert_id=charlie.pk,
        consent_how="oral",
        consent_at=timezone.localdate(),
        send=True,
    )
