from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "cordee.care"
    label = "care"
    verbose_name = "Relation de soins"

    def ready(self) -> None:
        from cordee.care import shell

        shell.register()  # its entries in the shell's module registry
