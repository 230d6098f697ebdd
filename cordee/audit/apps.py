from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cordee.audit"
    label = "audit"
    verbose_name = "Audit"
