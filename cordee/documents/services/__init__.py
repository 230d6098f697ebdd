"""State changes of the record (``do_*``), each writing its audit entry in its transaction.

- ``files``: documents uploaded (streamed into the vault), their versions, "entered in error",
  visibility to the patient.
- ``record``: the timeline's public API, ``do_add_to_record`` / ``do_update_record_item``, for the
  modules that write into the record without touching this app.
"""

from cordee.documents.services.files import (
    DocumentError,
    Upload,
    do_enter_in_error,
    do_new_version,
    do_set_visibility,
    do_upload,
)
from cordee.documents.services.record import do_add_to_record, do_update_record_item

__all__ = [
    "DocumentError",
    "Upload",
    "do_add_to_record",
    "do_enter_in_error",
    "do_new_version",
    "do_set_visibility",
    "do_update_record_item",
    "do_upload",
]
