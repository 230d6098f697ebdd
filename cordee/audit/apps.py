from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cordee.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from cordee.db import pgquery

        pgquery.install()  # PostgreSQL: the long batched statements' placeholders converted once
        # The checkpoint signing key and the entries' MAC key must be there before anything is
        # audited: with DEBUG off a missing or unreadable key stops the start-up here (in DEBUG it
        # is created, loudly).
        from cordee.audit import checks  # noqa: F401  (registers the deploy check of the copy)
        from cordee.audit.mac import ensure_mac_key
        from cordee.audit.signing import ensure_signing_key

        ensure_signing_key()
        ensure_mac_key()

        from cordee.audit.scheduled import register_jobs

        register_jobs()
