from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "cordee.imaging"
    label = "imaging"
    verbose_name = "Imagerie"

    def ready(self) -> None:
        from cordee.imaging import shell

        shell.register()  # its patient link, patient entry, inbox and audit words
