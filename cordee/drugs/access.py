"""The only way views and the API load drug-database objects for a user.

BDPM data is public reference data, not patient data: any signed-in, active user may read a
speciality (professionals, staff and patients alike, as on the public BDPM site); there is no
care-team check, and a product that does not exist is simply a 404 (public data: nothing to
audit; ``purpose`` names the caller for readers of the code). Import runs are for the platform
operator only (see ``services.can_import``): for anyone else a run answers exactly like one that
does not exist (404), and the attempt is audited with its purpose.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404, HttpRequest

from cordee.drugs.models import ImportRun, Product
from cordee.drugs.services import can_import
from cordee.lib.ids import parse_id
from cordee.lib.refusals import refuse

_CIS = re.compile(r"\d{8}")


def can_read(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def access_product(user: Any, cis: str, *, purpose: str) -> Product:
    if not can_read(user) or not _CIS.fullmatch(str(cis)):
        raise Http404
    product = Product.objects.filter(cis=cis).first()
    if product is None:
        raise Http404
    return product


def access_import_run(user: Any, run_id: int | str, *, purpose: str, request: HttpRequest | None = None) -> ImportRun:
    """An import run, for the platform operator; anyone else's attempt is audited with ``purpose``."""
    if not can_import(user):
        refuse(user, target_type="drugs.importrun", raw_id=run_id, purpose=purpose, request=request)
    try:
        pk = parse_id(run_id)
    except Http404:
        refuse(user, target_type="drugs.importrun", raw_id=run_id, purpose=purpose, request=request)
    run = ImportRun.objects.filter(pk=pk).first()
    if run is None:
        refuse(user, target_type="drugs.importrun", raw_id=pk, purpose=purpose, request=request)
    return run


def access_products(user: Any, codes: list[str], *, purpose: str) -> list[Product]:
    """Several specialities in the order of ``codes``; 404 if any is unknown."""
    if not can_read(user) or not all(_CIS.fullmatch(str(c)) for c in codes):
        raise Http404
    found = {p.cis: p for p in Product.objects.filter(cis__in=codes)}
    if len(found) != len(set(codes)):
        raise Http404
    return [found[c] for c in codes]
