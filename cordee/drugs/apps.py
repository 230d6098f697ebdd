from django.apps import AppConfig


class DrugsConfig(AppConfig):
    name = "cordee.drugs"
    label = "drugs"
    verbose_name = "Médicaments (BDPM)"

    def ready(self) -> None:
        from cordee.drugs import shell

        shell.register()  # its module entry and search section in the shell's module registry
