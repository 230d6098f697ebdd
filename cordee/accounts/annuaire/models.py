"""What was imported from Annuaire Santé extractions, kept to verify professionals' identities.

``AnnuaireEntry`` has **one row per line of the file** (per import, identifier and activity)
rather than one per person with activities in JSON, because:

- the profession, the name used in practice (*nom d'exercice*) and the civility belong to the
  activity (*exercice*) in the RPPS, not to the person: someone may practise two professions,
  and verification must find the activity whose profession matches, which a plain indexed
  query over rows does (on SQLite and PostgreSQL alike, no JSON querying);
- the file is read as a stream: a row per line needs no memory of the people already seen,
  so a two-million-line national extraction imports with constant memory;
- each row keeps its line number, so a verification cites the exact line it relied on.

The number of distinct people is counted by the database at the end of the import.

An import belongs to the structure whose administrator uploaded it (``structure``), or to no
structure when the operator ran ``manage.py import_annuaire`` (a national extraction for every
structure). A structure's administrators only match against their own imports and the
operator's, so one structure's upload cannot serve to verify members of another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.accounts.annuaire.parser import MAX_LENGTHS

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise


class AnnuaireImport(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    # At most this many rejected lines are stored (the count in ``rejected`` is always exact).
    MAX_STORED_REJECTIONS = 5000

    structure = models.ForeignKey(
        "accounts.Structure", on_delete=models.CASCADE, null=True, blank=True, related_name="annuaire_imports"
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    encoding = models.CharField(max_length=10, blank=True)
    rows = models.PositiveIntegerField(_("imported lines"), default=0)
    people = models.PositiveIntegerField(_("people"), default=0)
    rejected = models.PositiveIntegerField(_("rejected lines"), default=0)
    rejected_lines = models.JSONField(default=list, blank=True)  # [{"line": 12, "reason": "…"}]
    notes = models.JSONField(default=list, blank=True)  # e.g. the encoding fallback
    error = models.TextField(blank=True)  # why a failed import failed as a whole

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("Annuaire Santé import")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d})"

    @property
    def rejected_lines_truncated(self) -> bool:
        return self.rejected > len(self.rejected_lines)


def _char(name: str, label: StrOrPromise, **kwargs: Any) -> models.CharField:  # label: a lazy translation
    return models.CharField(label, max_length=MAX_LENGTHS[name], blank=True, **kwargs)


class AnnuaireEntry(models.Model):
    """One line (one activity of one person) of an imported extraction; see the module docstring."""

    class IdType(models.TextChoices):
        ADELI = "0", "ADELI"
        RPPS = "8", "RPPS"

    import_run = models.ForeignKey(AnnuaireImport, on_delete=models.CASCADE, related_name="entries")
    line = models.PositiveIntegerField()
    id_type = models.CharField(max_length=1, choices=IdType.choices)
    identifier = models.CharField(max_length=MAX_LENGTHS["identifier"])
    national_id = models.CharField(max_length=MAX_LENGTHS["national_id"])
    rpps = models.CharField(max_length=11, blank=True, db_index=True)  # = identifier when id_type is 8
    exercise_civility = _char("exercise_civility", _("civility of practice"))
    civility = _char("civility", _("civility"))
    last_name = _char("last_name", _("last name"))
    first_name = _char("first_name", _("first name"))
    profession_code = _char("profession_code", _("profession code"))
    profession_label = _char("profession_label", _("profession"))
    category_code = _char("category_code", _("professional category code"))
    category_label = _char("category_label", _("professional category"))
    savoir_faire_code = _char("savoir_faire_code", _("savoir-faire code"))
    savoir_faire_label = _char("savoir_faire_label", _("savoir-faire"))
    practice_mode_code = _char("practice_mode_code", _("practice mode code"))
    practice_mode_label = _char("practice_mode_label", _("practice mode"))
    siret = _char("siret", _("SIRET of the site"))
    finess_site = _char("finess_site", _("FINESS of the site"))
    finess_legal = _char("finess_legal", _("FINESS of the legal entity"))
    structure_name = _char("structure_name", _("name of the site"))

    class Meta:
        ordering = ["import_run", "line"]
        indexes = [models.Index(fields=["import_run", "identifier"], name="annuaire_import_ident_idx")]
        verbose_name = _("Annuaire Santé entry")
        verbose_name_plural = _("Annuaire Santé entries")

    def __str__(self) -> str:
        return f"{self.last_name} {self.first_name} ({self.get_id_type_display()} {self.identifier})"
