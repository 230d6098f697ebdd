from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "cordee.security"
    label = "security"
    verbose_name = "Sécurité"
