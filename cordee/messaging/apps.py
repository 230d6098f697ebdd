from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "cordee.messaging"
    label = "messaging"
    verbose_name = "Messagerie"

    def ready(self) -> None:
        # Care-team threads follow the care team; delegations and sign-outs cut sockets at once.
        from cordee.messaging import receivers, shell  # noqa: F401

        shell.register()  # its entry, count, home card and search in the shell's module registry
