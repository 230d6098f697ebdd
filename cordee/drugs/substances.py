"""The forms of a substance name, to match BDPM substances with ANSM thesaurus molecules.

The two sources write the same molecule differently. The BDPM often inverts names
("ACÉTYLSALICYLIQUE (ACIDE)", "METFORMINE (CHLORHYDRATE DE)", "DL-LYSINE (ACÉTYLSALICYLATE
DE)", "LIDOCAÏNE (CHLORHYDRATE DE) MONOHYDRATÉ"), names salts, esters and hydrates
("HYDROGÉNOSULFATE DE CLOPIDOGREL", "DABIGATRAN ÉTEXILATE", "AMOXICILLINE TRIHYDRATÉE"), and
sometimes the form in which a substance is present ("FER (SOUS FORME DE SULFATE FERREUX)");
the thesaurus inverts some of its own names ("SODIUM (CHLORURE DE)", "VALPROIQUE (ACIDE) ET,
PAR EXTRAPOLATION, VALPROMIDE").

``forms(name)`` gives the candidate keys of a name, most literal first: the folded name, the
name with its parentheses put back in reading order, then the same without salt, ester or
hydrate words, and for a salt of an acid the acid ("VALPROATE DE SODIUM" → "acide
valproique"). Matching then takes the first form that is a thesaurus key: nothing is guessed,
a form either is a thesaurus name (or one of its forms) or it is not.

``literal_forms`` are those that only fold or reorder the name. A thesaurus name is also
reachable by its reduced forms ("PERINDOPRIL TERT-BUTYLAMINE" by "perindopril") unless what is
left is a counter-ion (``is_counter_ion``: "SODIUM (CHLORURE DE)" must not answer for every
sodium salt, nor "MAGNESIUM (HYDROXYDE DE)" for every hydroxide).
"""

from __future__ import annotations

import re

from cordee.drugs.text import fold

# Counter-ions and salt words that come before the molecule ("chlorhydrate de tramadol"); any
# other word ending like an anion (-ate, -ite, -ure, -ide) followed by "de" is taken as one too.
_SALTS = frozenset(
    "chlorhydrate dichlorhydrate bromhydrate iodhydrate sulfate hemisulfate bisulfate maleate hydrogenomaleate "
    "fumarate hemifumarate tartrate hemitartrate bitartrate citrate acetate besilate mesilate tosilate succinate "
    "phosphate nitrate lactate gluconate oxalate benzoate valerate propionate dipropionate butyrate hyclate pamoate "
    "embonate lysinate arginine erbumine decanoate enantate palmitate pivalate hydroxynaphtoate sel selenite "
    "carbonate bicarbonate hydrogenocarbonate chlorure bromure iodure stearate ascorbate aspartate glycinate "
    "trometamol teoclate napadisilate camsilate edisilate isetionate methylsulfate hydrobromide hydrochloride "
    "hydrogenosulfate hydrogenotartrate hydrogenosuccinate esilate resinate diisethionate metasulfobenzoate "
    "benzathine tert butylamine".split()
)
# Mineral anions: in "chlorure de potassium" the ion is what the thesaurus names.
_MINERAL_ANIONS = frozenset(
    "chlorure carbonate bicarbonate hydrogenocarbonate gluconate lactate acetate citrate phosphate sulfate "
    "glycerophosphate iodure bromure oxyde hydroxyde glubionate glucoheptonate pidolate".split()
)
_ANION_ENDINGS = ("ate", "ite", "ure", "ide")
# Words after the molecule that name its salt, hydrate, ester or physical form.
_QUALIFIERS = frozenset(
    "sodique disodique monosodique trisodique potassique dipotassique calcique magnesien magnesienne magnesique "
    "anhydre base micronise micronisee amorphe cristallisee cristallise racemique arginine olamine medoxomil "
    "diethylamine erbumine trometamol lysine tert butylamine tertbutylamine element acide argentique "
    "etexilate axetil proxetil pivoxil cilexetil mofetil pegol vedotine emtansine deruxtecan recombinant "
    "recombinante vivant vivante attenue attenuee liquide cristallisable".split()
)
_HYDRATE = re.compile(r"^(?:hemi|sesqui|mono|di|tri|tetra|penta|hexa|hepta|octa|nona|deca)*hydratee?s?$")
_BASES = frozenset(
    "sodium potassium calcium magnesium diethylamine arginine lysine zinc meglumine ethyle methyle".split()
)
_LINKS = frozenset({"de", "d", "du", "des"})
# Bare ions: a thesaurus salt of one ("SODIUM (CHLORURE DE)") is not reachable by the ion alone.
IONS = frozenset("sodium potassium calcium magnesium zinc fer lithium aluminium strontium fluor".split())
# A family the thesaurus names as a whole: an unlisted member ("INSULINE DÉGLUDEC") is the family.
_FAMILY_HEADS = frozenset({"insuline"})
# Ways of writing the same molecule that no rule above derives (spelling, adjective forms).
ALIASES = {
    "colecalciferol": "cholecalciferol",
    "beta estradiol": "estradiol",
    "sulfate ferreux": "fer",
    "fumarate ferreux": "fer",
    "gluconate ferreux": "fer",
    "ferreux": "fer",
    "ferrique": "fer",
    "fluorure": "fluor",
    "divalproate": "acide valproique",
    "calcitonine de saumon": "calcitonine",
}
_SOUS_FORME = re.compile(r"\(\s*sous forme (?:de |d'|d’)?([^()]*)\)", re.IGNORECASE)
_GROUP = re.compile(r"\(\s*([^()]+?)\s*\)")
_EXTRAPOLATION = re.compile(r"\s*,?\s*\bet,? par extrapolation\b.*$", re.IGNORECASE)
_WRAPPERS = re.compile(
    r"^(?:solution|concentrat|poudre|teinture|extrait(?: sec| fluide| mou)?|huile essentielle|huile|"
    r"(?:feuilles?|racines?|ecorces?|fleurs?|graines?|fruits?|sommites? fleuries?|parties? aeriennes?)"
    r"(?: fraiches| seches)?) (?:de|d|des) "
    r"| (?:solution de|solution|forme pulverulente|forme huileuse|synthetique|pour solution injectable|dilue|diluee)$"
)


def _uninvert(name: str) -> list[str]:
    """ "X (Y DE) Z" → "Y DE X Z"; "X (ACIDE)" → "ACIDE X"; "X (A DE) (B DE)" → "B DE A DE X";
    "X (SOUS FORME DE Y)" → X, Y; another group ("(PLASMATIQUE)") is a precision, dropped."""
    found = []
    sous_forme = _SOUS_FORME.search(name)
    if sous_forme:
        found.append(sous_forme.group(1))
        name = _SOUS_FORME.sub(" ", name)
    groups = _GROUP.findall(name)
    if not groups:
        return [*found, name] if found else []
    rest = _GROUP.sub(" ", name)
    moved = [g for g in groups if (w := fold(g).split()) and (w[-1] in _LINKS or w == ["acide"])]
    found.append(" ".join([*reversed(moved), rest]))
    return found


def _inverted_head(name: str) -> str:
    """ "NICOTINE (CATIORÉSINE CARBOXYLATE DE)" → "nicotine": the molecule of an inverted salt
    whose anion no rule knows; "" when the head is itself a counter-ion ("SODIUM (… DE)")."""
    groups = _GROUP.findall(name)
    if not any((w := fold(g).split()) and w[-1] in _LINKS for g in groups):
        return ""
    head = _wrapped(fold(_before_comma(_GROUP.sub(" ", name))))
    words = _strip_trailing(head.split())[0]
    return "" if not words or is_counter_ion(" ".join(words)) or " ".join(words) in _BASES else " ".join(words)


def _before_comma(text: str) -> str:
    """The text before its first comma outside parentheses."""
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            return text[:position]
    return text


def _wrapped(form: str) -> str:
    """Without the words that say what part or preparation of it this is ("extrait sec de")."""
    previous = None
    while previous != form:
        previous, form = form, _WRAPPERS.sub("", form).strip()
    return form


def _qualifier(word: str) -> bool:
    return word in _QUALIFIERS or bool(_HYDRATE.match(word)) or word.isdigit()


def _strip_salt(words: list[str]) -> list[str]:
    """Without trailing salt, hydrate or ester words ("… de sodium", "… trihydratée",
    "… étexilate", "… 4000") and, unless the molecule is the anion ("acétylsalicylate de
    DL-lysine"), without a leading salt ("chlorhydrate de", "phosphate sodique de"). A mineral
    salt of an ion is the ion ("chlorure de potassium" → "potassium")."""
    ion = _mineral_salt_ion(words)
    if ion:
        return [ion]
    words, base_removed = _strip_trailing(words)
    if base_removed:
        return words
    start = 0
    while start < len(words) - 1 and (words[start] in _SALTS or words[start].endswith(_ANION_ENDINGS)):
        after = start + 1
        while after < len(words) - 1 and _qualifier(words[after]):
            after += 1
        if words[after] not in _LINKS and words[start] not in _SALTS:
            break
        start = after
        while start < len(words) - 1 and words[start] in _LINKS:
            start += 1
    if words[0] == "dl" or words[0] == "beta":  # "DL-ALPHA TOCOPHÉROL", "BÊTA-ESTRADIOL"
        start = max(start, 1)
    return _strip_trailing(words[start:])[0]


def _mineral_salt_ion(words: list[str]) -> str:
    """ "chlorure de potassium", "carbonate de calcium dihydraté" → the ion; else ""."""
    if len(words) < 3 or words[0] not in _MINERAL_ANIONS:
        return ""
    rest = words[1:]
    while rest and (_qualifier(rest[0]) or rest[0] in _LINKS):
        rest = rest[1:]
    ion = " ".join(_strip_trailing(rest)[0]) if rest else ""
    return ion if ion in IONS else ""


def _strip_trailing(words: list[str]) -> tuple[list[str], bool]:
    """Without trailing salt, hydrate or ester words; True when a base ("de sodium") went."""
    base_removed = False
    while len(words) > 1:
        if len(words) > 2 and words[-2] in _LINKS and words[-1] in _BASES:  # "diclofenac de sodium"
            words, base_removed = words[:-2], True
        elif len(words) > 3 and words[-3] in _LINKS and words[-2:] == ["dl", "lysine"]:
            words, base_removed = words[:-3], True
        elif _qualifier(words[-1]) or words[-1] in _LINKS:  # "amoxicilline trihydratee"
            words = words[:-1]
        else:
            break
    return words, base_removed


def _acid(form: str) -> str | None:
    """ "valproate" → "acide valproique" (a salt named by its anion alone)."""
    words = form.split()
    if len(words) == 1 and words[0].endswith("ate") and len(words[0]) > 5:
        return f"acide {words[0][:-3]}ique"
    return None


def literal_forms(name: str) -> list[str]:
    """The forms of a name that only fold it, reorder it or drop what part or preparation of
    the substance it is, without dropping a word that names the molecule."""
    base = _EXTRAPOLATION.sub("", name)
    found = [fold(name), fold(base)]
    for variant in [base, *_uninvert(base)]:
        found.append(_wrapped(fold(variant)))
        found.append(_wrapped(fold(_before_comma(variant))))  # "VIRUS DE LA ROUGEOLE, SOUCHE SCHWARTZ, …"
    return [f for f in dict.fromkeys(found) if f]


def forms(name: str) -> list[str]:
    """The candidate keys of a substance name, most literal first (see the module docstring)."""
    literal = literal_forms(name)
    reduced = []
    for form in literal:
        stripped = " ".join(_strip_salt(form.split()))
        reduced.append(stripped)
        acid = _acid(stripped)
        if acid:
            reduced.append(acid)
    found = [*literal, *reduced, _inverted_head(_EXTRAPOLATION.sub("", name))]
    found += [ALIASES[f] for f in found if f in ALIASES]
    found += [f.split()[0] for f in reduced if f.split() and f.split()[0] in _FAMILY_HEADS]
    return [f for f in dict.fromkeys(found) if f]


def is_counter_ion(form: str) -> bool:
    """A bare ion or anion ("sodium", "chlorure", "citrate"): what is left of a salt's name
    once its molecule went, which must not stand for the salt."""
    words = form.split()
    return form in IONS or (len(words) == 1 and words[0].endswith(_ANION_ENDINGS))
