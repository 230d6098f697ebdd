from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "cordee.documents"
    label = "documents"
    verbose_name = "Dossier du patient"

    def ready(self) -> None:
        # The care-team threads' messages are lines of the record (titles only).
        from cordee.documents import attachable, receivers, shell  # noqa: F401

        shell.register()  # its patient link, patient entry, home card and audit words
        attachable.register()  # documents as attachments of referrals and tele-expertise
