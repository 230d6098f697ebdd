"""The French → English bridge of the search: French words people type, the English of PubMed.

Chosen: a small mapping written for Cordée (below), not MeSH's French entry terms. The French
MeSH (Inserm's translation) is not distributed under terms that let us ship it in the product;
a few hundred everyday words cover what a GP types, and the rule for drug names covers the
rest of the common substances: a French international non-proprietary name ending in ``-ine``
or ``-ide`` is also searched without its final ``e``
("metformine" → "metformin", "amoxicilline" → "amoxicillin"). A bridged word is searched as
itself *or* its English form: an article in French still matches.

Keys and values are folded (lower case, no accents); a key of several words is a phrase.
"""

from __future__ import annotations

PHRASES: dict[str, str] = {
    "insuffisance cardiaque": "heart failure",
    "insuffisance renale": "renal insufficiency",
    "insuffisance respiratoire": "respiratory insufficiency",
    "hypertension arterielle": "hypertension",
    "infarctus du myocarde": "myocardial infarction",
    "accident vasculaire cerebral": "stroke",
    "fibrillation atriale": "atrial fibrillation",
    "fibrillation auriculaire": "atrial fibrillation",
    "cancer du sein": "breast cancer",
    "cancer du poumon": "lung cancer",
    "cancer de la prostate": "prostate cancer",
    "diabete de type 2": "type 2 diabetes",
    "essai controle randomise": "randomized controlled trial",
    "essai randomise": "randomized trial",
    "meta analyse": "meta-analysis",
    "revue systematique": "systematic review",
    "maladie d alzheimer": "alzheimer disease",
    "maladie de parkinson": "parkinson disease",
    "sclerose en plaques": "multiple sclerosis",
    "personne agee": "aged",
    "femme enceinte": "pregnant women",
}

WORDS: dict[str, str] = {
    "avc": "stroke",
    "bpco": "copd",
    "cardiaque": "cardiac",
    "coeur": "heart",
    "cerveau": "brain",
    "rein": "kidney",
    "renal": "renal",
    "foie": "liver",
    "poumon": "lung",
    "sang": "blood",
    "os": "bone",
    "peau": "skin",
    "diabete": "diabetes",
    "obesite": "obesity",
    "grossesse": "pregnancy",
    "enfant": "child",
    "enfants": "children",
    "nourrisson": "infant",
    "adolescent": "adolescent",
    "vieillissement": "aging",
    "douleur": "pain",
    "fievre": "fever",
    "infection": "infection",
    "vaccin": "vaccine",
    "vaccination": "vaccination",
    "traitement": "treatment",
    "depistage": "screening",
    "diagnostic": "diagnosis",
    "prevention": "prevention",
    "mortalite": "mortality",
    "revue": "review",
    "recommandation": "guideline",
    "recommandations": "guidelines",
    "essai": "trial",
    "etude": "study",
    "cohorte": "cohort",
    "paracetamol": "acetaminophen",
    "acide": "acid",
    "sommeil": "sleep",
    "tabac": "tobacco",
    "alcool": "alcohol",
    "asthme": "asthma",
    "epilepsie": "epilepsy",
    "demence": "dementia",
    "anemie": "anemia",
    "cancer": "cancer",
    "tumeur": "tumor",
    "chirurgie": "surgery",
    "insuline": "insulin",
    "cholesterol": "cholesterol",
    "hypertension": "hypertension",
    "arthrose": "osteoarthritis",
    "lombalgie": "low back pain",
}

_INN_ENDINGS = ("ine", "ide")


def english_for(word: str) -> str | None:
    """The English word(s) for a folded French word, or None (the rule for drug names included)."""
    found = WORDS.get(word)
    if found is not None:
        return found if found != word else None
    if len(word) >= 7 and word.endswith(_INN_ENDINGS):
        return word[:-1]
    return None
