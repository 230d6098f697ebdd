from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "cordee.vault"
    label = "vault"
    verbose_name = "Coffre (chiffrement)"
