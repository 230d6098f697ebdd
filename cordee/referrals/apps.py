from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "cordee.referrals"
    label = "referrals"
    verbose_name = "Adressages"

    def ready(self) -> None:
        from cordee.referrals import shell

        shell.register()  # its module, patient link and audit words
