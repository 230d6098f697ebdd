from django.apps import AppConfig


class PrescriptionsConfig(AppConfig):
    name = "cordee.prescriptions"
    label = "prescriptions"
    verbose_name = "Ordonnances"

    def ready(self) -> None:
        from cordee.prescriptions import shell

        shell.register()  # its patient link, navigation entries and audit words
