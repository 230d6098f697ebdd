from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "cordee.library"
    label = "library"
    verbose_name = "Bibliothèque scientifique (PubMed)"

    def ready(self) -> None:
        from cordee.library import shell

        shell.register()  # its module entry, search section and drug-page link in the module registry
