"""Names of the people a display copy mentions (audit entries, care-team rows), as shown when read.

Entries keep display copies of professionals and staff (name, profession, RPPS: public in the RPPS
directory), but only the id of a patient. A patient's name is decrypted from their identity when
the entry is shown; once their data were erased (crypto-shredding) it reads "erased patient".
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cordee.accounts.models import User
from cordee.audit.services import PATIENT_KIND


def person_name(display: dict[str, Any] | None, user_id: int | None, *, names: dict[int, str] | None = None) -> str:
    """The name for a display copy and the user id it was taken from ("" when nobody is named).

    ``names`` memoises patient names by user id across the rows of one page.
    """
    display = display or {}
    if display.get("name"):
        return str(display["name"])
    if display.get("role") != PATIENT_KIND:
        return ""
    if user_id is None:
        return str(_("erased patient"))
    if names is not None and user_id in names:
        return names[user_id]
    user = User.objects.filter(pk=user_id).select_related("patient").first()
    name = user.display_name if user is not None else str(_("erased patient"))
    if names is not None:
        names[user_id] = name
    return name
