"""The imported ANSM thesaurus, held in memory for matching (rebuilt after a newer import).

A BDPM substance name is matched to a thesaurus molecule through the forms of
``cordee.drugs.substances``: the first form of the substance that is a form of a thesaurus
name wins, an exact name always before a reduced one. A molecule then stands for itself and
for every class the thesaurus puts it in. Entries graded by aspirin's dose carry their dose
rules (``cordee.drugs.doses``), read once here.

Like the search index, each process keeps its copy and checks the latest finished thesaurus
import on every use (one indexed query).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from cordee.drugs import doses
from cordee.drugs.models import ImportRun, Interaction, ThesaurusClassMember, ThesaurusMolecule
from cordee.drugs.substances import forms, is_counter_ion, literal_forms


@dataclass
class Thesaurus:
    version: object
    molecules: dict[str, str]  # a form of a thesaurus name -> the thesaurus key it stands for
    classes_of: dict[str, set[str]]
    by_pair: dict[tuple[str, str], list[Interaction]]
    names: dict[str, str] = field(default_factory=dict)  # key -> the thesaurus' own name
    dose_rules: dict[int, list[doses.DoseRule]] = field(default_factory=dict)  # by Interaction pk
    class_names: dict[str, str] = field(default_factory=dict)

    def molecule_for(self, substance: str) -> str | None:
        for key in forms(substance):
            if key in self.molecules:
                return self.molecules[key]
        return None

    def terms(self, molecule: str) -> set[str]:
        return {molecule, *self.classes_of.get(molecule, ())}

    def is_known(self, key: str) -> bool:
        return key in self.names or key in self.class_names


def _molecule_forms(names: dict[str, str]) -> dict[str, str]:
    """Every form of every thesaurus name -> its key: the literal forms of all names first,
    then the reduced ones, so that an exact name always wins over a reduced one. A reduced form
    that is a counter-ion is left out: "SODIUM (CHLORURE DE)" must not answer for "LACTATE DE SODIUM"."""
    molecules = {key: key for key in names}
    ordered = sorted(names.items())
    for key, name in ordered:
        for form in literal_forms(name):
            molecules.setdefault(form, key)
    for key, name in ordered:
        literal = set(literal_forms(name))
        for form in forms(name):
            if form not in literal and not is_counter_ion(form):
                molecules.setdefault(form, key)
    return molecules


def _load(version: object) -> Thesaurus:
    classes_of: dict[str, set[str]] = defaultdict(set)
    class_names: dict[str, str] = {}
    for class_key, class_name, molecule_key in ThesaurusClassMember.objects.values_list(
        "class_key", "class_name", "molecule_key"
    ):
        classes_of[molecule_key].add(class_key)
        class_names[class_key] = class_name
    by_pair: dict[tuple[str, str], list[Interaction]] = defaultdict(list)
    dose_rules: dict[int, list[doses.DoseRule]] = {}
    for interaction in Interaction.objects.order_by("level", "key_a", "key_b", "pk"):
        by_pair[(interaction.key_a, interaction.key_b)].append(interaction)
        by_pair[(interaction.key_b, interaction.key_a)].append(interaction)
        if doses.SUBJECT in (interaction.key_a, interaction.key_b):
            found = doses.rules(interaction.conduct, interaction.mechanism, interaction.levels.split(","))
            if found:
                dose_rules[interaction.pk] = found
    names = dict(ThesaurusMolecule.objects.values_list("key", "name"))
    for molecule_key in classes_of:
        names.setdefault(molecule_key, molecule_key)
    for pair, entries in by_pair.items():  # protagonists neither molecule nor class ("MILLEPERTUIS")
        if pair[0] not in class_names:
            shown = entries[0].protagonist_a if entries[0].key_a == pair[0] else entries[0].protagonist_b
            names.setdefault(pair[0], shown)
    return Thesaurus(version, _molecule_forms(names), dict(classes_of), dict(by_pair), names, dose_rules, class_names)


_lock = threading.Lock()
_cache: dict[str, Thesaurus] = {}


def current_version() -> object:
    return (
        ImportRun.objects.filter(kind=ImportRun.Kind.INTERACTIONS, status=ImportRun.Status.DONE)
        .order_by("-finished_at", "-pk")
        .values_list("pk", "finished_at")
        .first()
    )


def thesaurus() -> Thesaurus:
    version = current_version()
    current = _cache.get("current")
    if current is None or current.version != version:
        with _lock:
            current = _load(version)
            _cache["current"] = current
    return current
