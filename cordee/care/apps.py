from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "cordee.care"
    label = "care"
    verbose_name = "Relation de soins"
