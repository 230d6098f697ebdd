"""Why the record is read or changed: the purpose codes and actions written to the audit trail.

Their words, shown to the patient in her access history, are registered in the module registry
(``cordee.lib.modules.register_purposes``) from ``shell.register``: ``care`` lies below this app.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

RECORD_VIEW = "record.view"  # the record's page: the list of documents and the timeline
RECORD_SEARCH = "record.search"
RECORD_EXPORT = "record.export"
DOCUMENT_VIEW = "record.document.view"
DOCUMENT_DOWNLOAD = "record.document.download"
DOCUMENT_ADD = "record.document.add"
DOCUMENT_CORRECT = "record.document.correct"
DOCUMENT_ERROR = "record.document.error"
DOCUMENT_VISIBILITY = "record.document.visibility"
DOCUMENT_SHARE = "record.document.share"

# Audit actions.
READ = "document.read"
DOWNLOADED = "document.downloaded"
UPLOADED = "document.uploaded"
VERSIONED = "document.versioned"
ENTERED_IN_ERROR = "document.entered_in_error"
VISIBILITY_CHANGED = "document.visibility_changed"
SHARED = "document.shared"
FILED = "document.filed_from_message"
EXPORTED = "record.exported"

LABELS: dict[str, str | Promise] = {
    RECORD_VIEW: _("Opened your record (documents and timeline)"),
    RECORD_SEARCH: _("Searched your record"),
    RECORD_EXPORT: _("Exported your whole record (ZIP)"),
    DOCUMENT_VIEW: _("Opened a document of your record"),
    DOCUMENT_DOWNLOAD: _("Downloaded a document of your record"),
    DOCUMENT_ADD: _("Added a document to your record"),
    DOCUMENT_CORRECT: _("Corrected a document of your record (new version)"),
    DOCUMENT_ERROR: _("Marked a document of your record as entered in error"),
    DOCUMENT_VISIBILITY: _("Changed whether you see a document of your record"),
    DOCUMENT_SHARE: _("Shared a document of your record with the care team"),
}
