from cordee.prescriptions.models import Prescription


def test_signed(signed):
    assert signed.status == Prescription.Status.SIGNED
    assert signed.document.visible_to_patient
