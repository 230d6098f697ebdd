from django.apps import AppConfig


class ExpertiseConfig(AppConfig):
    name = "cordee.expertise"
    label = "expertise"
    verbose_name = "Télé-expertise"

    def ready(self) -> None:
        from cordee.expertise import shell

        shell.register()  # its modules, patient link and audit words
