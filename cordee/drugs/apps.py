from django.apps import AppConfig


class DrugsConfig(AppConfig):
    name = "cordee.drugs"
    label = "drugs"
    verbose_name = "Médicaments (BDPM)"
