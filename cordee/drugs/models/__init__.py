"""The drug database's models: BDPM reference data, import runs, the interaction thesaurus."""

from cordee.drugs.models.bdpm import (
    Availability,
    Composition,
    GenericMembership,
    HasLink,
    HasOpinion,
    MitmEntry,
    PrescriptionCondition,
    Presentation,
    Product,
    SafetyInfo,
)
from cordee.drugs.models.interactions import Interaction, ThesaurusClassMember, ThesaurusMolecule
from cordee.drugs.models.runs import ImportIssue, ImportRun

__all__ = [
    "Availability",
    "Composition",
    "GenericMembership",
    "HasLink",
    "HasOpinion",
    "ImportIssue",
    "ImportRun",
    "Interaction",
    "MitmEntry",
    "Presentation",
    "PrescriptionCondition",
    "Product",
    "SafetyInfo",
    "ThesaurusClassMember",
    "ThesaurusMolecule",
]
