"""BDPM reference data: one model per official file.

Rows of the dependent files are joined to specialities by their **CIS code**, as ANSM's files
are, not by a foreign key. ANSM's files do not agree with each other (``CIS_GENER`` names
2 517 CIS absent from ``CIS_bdpm``; the HAS files of another date, thousands), and a row about
an unknown CIS is still true information: it is kept, reported as an orphan by the import, and
joins by itself once its speciality appears. Products and presentations are updated in place
(matched by CIS and CIP13) and marked ``removed_at`` when a newer ``CIS_bdpm`` / ``CIS_CIP_bdpm``
no longer lists them, never deleted: a prescription may name them. The rows of the other files
have no identity of their own and are replaced whenever their file is imported.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.drugs.text import fold


class Product(models.Model):
    """A speciality (``CIS_bdpm``)."""

    cis = models.CharField("CIS", max_length=8, unique=True)
    name = models.TextField(_("name"))
    form = models.TextField(_("pharmaceutical form"), blank=True)
    routes = models.TextField(_("routes of administration"), blank=True)  # ";"-separated
    amm_status = models.TextField(_("marketing authorisation status"), blank=True)
    amm_procedure = models.TextField(_("authorisation procedure"), blank=True)
    commercialisation = models.TextField(_("commercialisation"), blank=True)
    is_commercialised = models.BooleanField(default=False)
    amm_date = models.DateField(_("authorisation date"), null=True, blank=True)
    bdm_status = models.TextField(_("BDM status"), blank=True)  # "Alerte", "Warning disponibilité"
    eu_number = models.TextField(_("European authorisation number"), blank=True)
    holders = models.TextField(_("holders"), blank=True)
    reinforced_monitoring = models.BooleanField(_("reinforced monitoring"), default=False)
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)  # last import that changed a value
    removed_at = models.DateTimeField(_("no longer listed since"), null=True, blank=True)

    class Meta:
        ordering = ["name", "cis"]
        verbose_name = _("speciality")
        verbose_name_plural = _("specialities")

    def __str__(self) -> str:
        return f"{self.name} (CIS {self.cis})"

    @property
    def route_list(self) -> list[str]:
        return [route for route in self.routes.split(";") if route]

    @property
    def is_parallel_import(self) -> bool:
        """An imported box of a product authorised in another EU country (the procedure says so)."""
        return "importation parallele" in fold(self.amm_procedure)


class Presentation(models.Model):
    """A box of a speciality (``CIS_CIP_bdpm``)."""

    cip13 = models.CharField("CIP13", max_length=13, unique=True)
    cip7 = models.CharField("CIP7", max_length=7, db_index=True)
    cis = models.CharField("CIS", max_length=8, db_index=True)
    label = models.TextField(_("label"))
    admin_status = models.TextField(_("administrative status"), blank=True)
    commercialisation = models.TextField(_("commercialisation"), blank=True)
    commercialisation_date = models.DateField(null=True, blank=True)
    collectivities = models.CharField(_("approved for hospitals"), max_length=8, blank=True)
    reimbursement_rates = models.TextField(_("reimbursement rate"), blank=True)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, null=True, blank=True)
    price_with_fee = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    dispensing_fee = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    reimbursement_indications = models.TextField(blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    changed_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cis", "cip13"]
        verbose_name = _("presentation")

    def __str__(self) -> str:
        return f"{self.label} (CIP13 {self.cip13})"


class Composition(models.Model):
    """A substance of a speciality (``CIS_COMPO_bdpm``): active substance (SA) or therapeutic
    fraction (FT), linked by ``link_number``."""

    cis = models.CharField("CIS", max_length=8, db_index=True)
    position = models.PositiveIntegerField(default=0)  # order in the file
    element = models.TextField(blank=True)
    substance_code = models.CharField(max_length=10, blank=True)
    substance_name = models.TextField()
    dosage = models.TextField(blank=True)
    dosage_reference = models.TextField(blank=True)
    nature = models.CharField(max_length=2)
    link_number = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["cis", "position"]

    def __str__(self) -> str:
        return f"{self.substance_name} ({self.cis})"


class GenericMembership(models.Model):
    """A speciality in a generic group (``CIS_GENER_bdpm``)."""

    class Type(models.IntegerChoices):
        PRINCEPS = 0, _("princeps")
        GENERIC = 1, _("generic")
        COMPLEMENTARY = 2, _("generic by dosage complementarity")
        SUBSTITUTABLE = 4, _("substitutable generic")

    group_id = models.PositiveIntegerField(db_index=True)
    group_label = models.TextField()
    cis = models.CharField("CIS", max_length=8, db_index=True)
    generic_type = models.PositiveSmallIntegerField(choices=Type.choices)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["group_id", "sort_order", "cis"]

    def __str__(self) -> str:
        return f"group {self.group_id}: {self.cis}"


class PrescriptionCondition(models.Model):
    """A prescription or dispensing condition (``CIS_CPD_bdpm``)."""

    cis = models.CharField("CIS", max_length=8, db_index=True)
    position = models.PositiveIntegerField(default=0)
    text = models.TextField()

    class Meta:
        ordering = ["cis", "position"]

    def __str__(self) -> str:
        return f"{self.cis}: {self.text[:60]}"


class HasOpinion(models.Model):
    """An SMR or ASMR opinion of the HAS transparency committee (``CIS_HAS_SMR/ASMR_bdpm``)."""

    class Kind(models.TextChoices):
        SMR = "SMR", "SMR"
        ASMR = "ASMR", "ASMR"

    kind = models.CharField(max_length=4, choices=Kind.choices)
    cis = models.CharField("CIS", max_length=8, db_index=True)
    dossier = models.CharField(max_length=20, db_index=True)
    reason = models.TextField(blank=True)
    date = models.DateField()
    value = models.TextField(blank=True)
    label = models.TextField(blank=True)

    class Meta:
        ordering = ["cis", "-date", "kind", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.dossier} ({self.cis})"


class HasLink(models.Model):
    """The HAS page of a transparency-committee dossier (``HAS_LiensPageCT_bdpm``)."""

    dossier = models.CharField(max_length=20, db_index=True)
    url = models.URLField(max_length=500)

    class Meta:
        ordering = ["dossier", "pk"]

    def __str__(self) -> str:
        return f"{self.dossier}: {self.url}"


class Availability(models.Model):
    """A shortage or supply tension (``CIS_CIP_Dispo_Spec``)."""

    cis = models.CharField("CIS", max_length=8, db_index=True)
    cip13 = models.CharField(max_length=13, blank=True)
    status_code = models.PositiveSmallIntegerField()  # 1 rupture, 2 tension, 3 arrêt, 4 remise à disposition
    status_label = models.TextField(blank=True)
    start_date = models.DateField(null=True, blank=True)
    updated_date = models.DateField(null=True, blank=True)
    back_date = models.DateField(null=True, blank=True)
    url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["cis", "pk"]

    def __str__(self) -> str:
        return f"{self.status_label} ({self.cis})"


class MitmEntry(models.Model):
    """A medicine of major therapeutic interest (``CIS_MITM``)."""

    cis = models.CharField("CIS", max_length=8, db_index=True)
    atc_code = models.CharField(max_length=10, blank=True)
    name = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"MITM {self.cis}"


class SafetyInfo(models.Model):
    """Important safety information (``CIS_InfoImportantes_…``)."""

    cis = models.CharField("CIS", max_length=8, db_index=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    text = models.TextField()
    url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["cis", "-start_date", "pk"]

    def __str__(self) -> str:
        return f"{self.cis}: {self.text[:60]}"
