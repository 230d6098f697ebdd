"""Why imaging is read or changed: purpose codes and audit actions (words in ``shell``)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

STUDIES_VIEW = "imaging.studies.view"  # the list of a patient's studies
STUDY_VIEW = "imaging.study.view"  # the viewer (page, metadata, frames)
STUDY_UPLOAD = "imaging.study.upload"
STUDY_RECONCILE = "imaging.study.reconcile"
STUDY_SHARE = "imaging.study.share"
STUDY_EXPORT = "imaging.study.export"  # the de-identified copy
INBOX_VIEW = "imaging.inbox.view"
DICOMWEB_STORE = "imaging.dicomweb.store"
RETENTION = "imaging.retention"  # Cordée's own clean-up of uploads left unfinished
ERASURE_CATCH_UP = "imaging.erasure_catch_up"  # studies left of a patient erased earlier (services.erasure)

# Audit actions.
STORED = "imaging.instance.stored"
OPENED = "imaging.study.opened"  # one per study opened (page, or first frames of a session)
FRAMES = "imaging.study.frames"  # a batch of frames fetched (once per study and session)
RECONCILED = "imaging.study.reconciled"
SHARED = "imaging.study.shared"
EXPORTED = "imaging.study.deidentified_export"
REFUSED = "imaging.file.refused"
ERASED = "imaging.study.erased"  # with the patient's erasure (services.erasure)
UPLOAD_PURGED = "imaging.upload.purged"  # an upload left unfinished, deleted with its chunks
SENDER_ADDED = "imaging.sender.added"  # a STOW-RS sender's token made (manage.py dicomweb_sender)
SENDER_REVOKED = "imaging.sender.revoked"
SENDER_REFUSED = "imaging.sender.refused"  # a STOW-RS bearer token unknown or revoked

LABELS: dict[str, str | Promise] = {
    STUDIES_VIEW: _("Opened the list of your imaging studies"),
    STUDY_VIEW: _("Opened one of your imaging studies"),
    STUDY_UPLOAD: _("Added imaging to your record"),
    STUDY_RECONCILE: _("Attached a received imaging study to your record"),
    STUDY_EXPORT: _("Downloaded a de-identified copy of one of your imaging studies"),
    STUDY_SHARE: _("Shared one of your imaging studies with your care team"),
    INBOX_VIEW: _("Looked at the imaging inbox"),
    DICOMWEB_STORE: _("Received imaging from another system"),
    RETENTION: _("Deleted an unfinished imaging upload"),
    ERASURE_CATCH_UP: _("Erased imaging left after the erasure of your data"),
}
ACTIONS: dict[str, str | Promise] = {
    STORED: _("Added an image to your record"),
    OPENED: _("Opened one of your imaging studies"),
    FRAMES: _("Viewed the images of one of your studies"),
    RECONCILED: _("Attached a received imaging study to your record"),
    SHARED: _("Shared one of your imaging studies with your care team"),
    EXPORTED: _("Downloaded a de-identified copy of one of your imaging studies"),
    ERASED: _("Erased one of your imaging studies with your data"),
    UPLOAD_PURGED: _("Deleted an unfinished upload of images to your record"),
}
