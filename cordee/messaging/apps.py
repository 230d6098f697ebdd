from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "cordee.messaging"
    label = "messaging"
    verbose_name = "Messagerie"

    def ready(self) -> None:
        # Care-team threads follow the care team; delegations and sign-outs cut sockets at once.
        from cordee.messaging import receivers, shell  # noqa: F401
        from cordee.messaging.services.attachments import purge_unsent
        from cordee.worker.jobs import Job, hourly, register

        shell.register()  # its entry, count, home card and search in the shell's module registry
        # Uploads never sent with a message are deleted after a day (checked every hour).
        register(Job("messaging.purge_unsent_attachments", hourly, purge_unsent))
