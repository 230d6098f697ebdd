"""The ANSM thesaurus of drug interactions, as extracted to text (see ``cordee.drugs.interactions``).

Names are kept as the extraction writes them (upper case, no accents) with their folded key
(``key``) used for matching. A protagonist of an interaction is a molecule or a class; the class
members are in ``ThesaurusClassMember``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ThesaurusMolecule(models.Model):
    name = models.CharField(max_length=200)
    key = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name


class ThesaurusClassMember(models.Model):
    class_name = models.CharField(max_length=200)
    class_key = models.CharField(max_length=200, db_index=True)
    molecule_key = models.CharField(max_length=200, db_index=True)

    class Meta:
        ordering = ["class_key", "molecule_key"]
        constraints = [models.UniqueConstraint(fields=["class_key", "molecule_key"], name="drugs_class_member_uniq")]

    def __str__(self) -> str:
        return f"{self.class_name}: {self.molecule_key}"


class Interaction(models.Model):
    class Level(models.TextChoices):
        # Most severe first: the value sorts them.
        CI = "1-CI", _("contraindication")
        AD = "2-AD", _("combination not recommended")
        PE = "3-PE", _("precaution for use")
        PC = "4-PC", _("to be taken into account")

    protagonist_a = models.CharField(max_length=200)
    key_a = models.CharField(max_length=200, db_index=True)
    protagonist_b = models.CharField(max_length=200)
    key_b = models.CharField(max_length=200, db_index=True)
    level = models.CharField(max_length=4, choices=Level.choices)  # the most severe of ``levels``
    levels = models.CharField(max_length=20)  # all levels named, comma-separated
    conduct = models.TextField(blank=True)  # what to do (after the level in the text)
    mechanism = models.TextField(blank=True)
    see_also = models.TextField(blank=True)
    line = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["level", "key_a", "key_b"]

    def __str__(self) -> str:
        return f"{self.protagonist_a} + {self.protagonist_b} ({self.level})"
