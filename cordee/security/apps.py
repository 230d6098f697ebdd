from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "cordee.security"
    label = "security"
    verbose_name = "Sécurité"

    def ready(self) -> None:
        from cordee.security import receivers, shell  # noqa: F401  (receivers: the care app's signals)

        shell.register()  # its alert queue, count and home card in the shell's module registry
