from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "cordee.imaging"
    label = "imaging"
    verbose_name = "Imagerie"

    def ready(self) -> None:
        from cordee.imaging import shell
        from cordee.imaging.services import erasure  # noqa: F401  (a patient's erasure reaches her studies)

        shell.register()  # its patient link, patient entry, inbox and audit words
