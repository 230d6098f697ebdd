"""A de-identified copy of a study as a ZIP, for use outside Cordée (DICOM PS3.15 Annex E).

The Basic Application Level Confidentiality Profile, applied as pydicom reads each instance:
the attributes the profile removes or empties (identifying names, identifiers, dates of birth,
addresses, institution and device identity, free-text comments, every private attribute)
are removed; the dates kept by the basic profile's "clean" options
are not kept (no option is claimed). UIDs (study, series, SOP instance, frame of reference, and
any UID of a referenced instance) are replaced by new ones derived from a secret random salt of the
export: the same UID maps to the same new one within the copy, so references between instances
stay consistent. Patient Identity Removed = YES and De-identification Method are written.

An instance whose Burned In Annotation is YES (identifying text in the pixels) makes the export
refused: its pixels would still say who the patient is. An instance Cordée cannot read is refused too.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import zipfile
from typing import Any

import pydicom
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from pydicom.dataset import Dataset

from cordee.imaging import access, purposes
from cordee.imaging.models import Study
from cordee.vault.blobs import iter_blob

# PS3.15 Table E.1-1, Basic Profile: X (remove), Z (empty), D (dummy) attributes, by keyword.
REMOVE = (
    "AccessionNumber AcquisitionComments AcquisitionDeviceProcessingDescription AdditionalPatientHistory "
    "AdmissionID AdmittingDiagnosesCodeSequence AdmittingDiagnosesDescription Allergies Arbitrary "
    "AuthorObserverSequence BranchOfService CommentsOnThePerformedProcedureStep "
    "ConfidentialityConstraintOnPatientDataDescription ContentCreatorName ContributionDescription "
    "CountryOfResidence CurrentPatientLocation CustodialOrganizationSequence DerivationDescription "
    "DeviceSerialNumber DigitalSignaturesSequence DischargeDiagnosisDescription EthnicGroup FrameComments "
    "GantryID GeneratorID ImageComments ImagePresentationComments ImagingServiceRequestComments "
    "InstitutionAddress InstitutionalDepartmentName InstitutionName InstitutionCodeSequence "
    "InsurancePlanIdentification IntendedRecipientsOfResultsIdentificationSequence "
    "InterpretationApproverSequence InterpretationAuthor InterpretationDiagnosisDescription "
    "InterpretationRecorder InterpretationText InterpretationTranscriber IssuerOfAdmissionID "
    "IssuerOfPatientID MedicalAlerts MedicalRecordLocator MilitaryRank ModifiedAttributesSequence "
    "NameOfPhysiciansReadingStudy OperatorIdentificationSequence OperatorsName OriginalAttributesSequence "
    "OtherPatientIDs OtherPatientIDsSequence OtherPatientNames ParticipantSequence PatientAddress "
    "PatientAge PatientBirthName PatientBirthTime PatientComments PatientInsurancePlanCodeSequence "
    "PatientMotherBirthName PatientPrimaryLanguageCodeSequence PatientReligiousPreference PatientSize "
    "PatientState PatientTelephoneNumbers PatientTransportArrangements PatientWeight PerformedLocation "
    "PerformedProcedureStepDescription PerformedProcedureStepID PerformedStationAETitle "
    "PerformedStationName PerformedStationNameCodeSequence PerformingPhysicianIdentificationSequence "
    "PerformingPhysicianName PersonAddress PersonTelephoneNumbers PhysicianApprovingInterpretation "
    "PhysiciansOfRecord PhysiciansOfRecordIdentificationSequence "
    "PhysiciansReadingStudyIdentificationSequence PregnancyStatus ReasonForStudy "
    "ReferencedPatientAliasSequence ReferringPhysicianAddress ReferringPhysicianIdentificationSequence "
    "ReferringPhysicianTelephoneNumbers RegionOfResidence RequestAttributesSequence "
    "RequestedProcedureComments RequestedProcedureID RequestingPhysician RequestingService "
    "ResultsComments ResultsID ResultsIDIssuer ScheduledPerformingPhysicianIdentificationSequence "
    "ScheduledProcedureStepDescription ScheduledProcedureStepID ServiceEpisodeDescription "
    "ServiceEpisodeID SmokingStatus SpecialNeeds StationName StudyComments StudyDescription StudyIDIssuer "
    "TextComments TextString TopicAuthor TopicKeywords TopicSubject TopicTitle "
    "VerifyingObserverIdentificationCodeSequence VerifyingObserverName VerifyingObserverSequence "
    "VisitComments SeriesDescription ProtocolName AcquisitionDateTime ContentDate ContentTime "
    "AcquisitionDate AcquisitionTime SeriesDate SeriesTime InstanceCreationDate InstanceCreationTime "
    "StudyTime PatientSex"
).split()
EMPTY = "PatientName PatientID PatientBirthDate ReferringPhysicianName StudyID StudyDate".split()
UID_KEYWORDS = (
    "StudyInstanceUID SeriesInstanceUID SOPInstanceUID FrameOfReferenceUID ReferencedSOPInstanceUID "
    "ReferencedFrameOfReferenceUID SynchronizationFrameOfReferenceUID IrradiationEventUID "
    "ConcatenationUID DimensionOrganizationUID StorageMediaFileSetUID MediaStorageSOPInstanceUID"
).split()
METHOD = "PS3.15 Basic Application Confidentiality Profile (Cordée)"


class UidMap:
    """UIDs replaced consistently within one export (2.25 form: a number from a salted hash)."""

    def __init__(self) -> None:
        self.salt = secrets.token_bytes(32)

    def __call__(self, value: str) -> str:
        digest = hashlib.sha256(self.salt + value.encode()).digest()[:16]
        return f"2.25.{int.from_bytes(digest, 'big')}"


def deidentify(dataset: Dataset, uids: UidMap) -> Dataset:
    dataset.remove_private_tags()
    for keyword in REMOVE:
        if keyword in dataset:
            delattr(dataset, keyword)

    def clean(ds: Dataset, element: Any) -> None:
        if element.keyword in UID_KEYWORDS and element.value:
            element.value = uids(str(element.value))
        elif element.keyword in REMOVE:
            del ds[element.tag]
        elif element.keyword in EMPTY:
            element.value = ""

    dataset.walk(clean)
    for keyword in EMPTY:
        if keyword in dataset:
            setattr(dataset, keyword, "")
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = METHOD
    meta = dataset.file_meta
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    return dataset


def do_export(study: Study, *, by: Any, basis: str, request: HttpRequest | None = None) -> bytes:
    """The ZIP of the de-identified copy of ``study`` (reached through ``access_study``), audited."""
    instances = list(study.instances.select_related("blob").order_by("series_id", "number", "pk"))
    if any(instance.burned_in_annotation for instance in instances):
        raise ValidationError(
            _("An image of this study has identifying text burned into its pixels: no de-identified copy.")
        )
    uids = UidMap()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, instance in enumerate(instances, start=1):
            data = b"".join(iter_blob(instance.blob))
            dataset = pydicom.dcmread(io.BytesIO(data))
            if str(dataset.get("BurnedInAnnotation", "")).upper() == "YES":
                raise ValidationError(
                    _("An image of this study has identifying text burned into its pixels: no de-identified copy.")
                )
            clean = io.BytesIO()
            deidentify(dataset, uids).save_as(clean, enforce_file_format=True)
            archive.writestr(f"DICOM/I{n:05d}.dcm", clean.getvalue())
    with transaction.atomic():
        access.record_study_entry(
            purposes.EXPORTED, by, study, basis, purposes.STUDY_EXPORT, request, instances=len(instances)
        )
    return out.getvalue()
