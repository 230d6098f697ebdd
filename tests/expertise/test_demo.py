import pytest

from cordee import demo
from cordee.expertise.models import Expertise
from cordee.referrals.models import Referral


@pytest.mark.django_db
def test_demo_requests_are_seeded_once():
    demo.seed(with_mfa=False, with_documents=True)
    demo.seed(with_mfa=False, with_documents=True)
    assert Referral.objects.filter(state="sent").count() == 1
    assert Expertise.objects.filter(state="sent").count() == 1
