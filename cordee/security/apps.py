from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "cordee.security"
    label = "security"
    verbose_name = "Sécurité"

    def ready(self) -> None:
        from cordee.security import receivers  # noqa: F401  (connects to the care app's signals)
