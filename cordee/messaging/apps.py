from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "cordee.messaging"
    label = "messaging"
    verbose_name = "Messagerie"

    def ready(self) -> None:
        # Care-team threads follow the care team; delegations and sign-outs cut sockets at once.
        from cordee.messaging import receivers  # noqa: F401
