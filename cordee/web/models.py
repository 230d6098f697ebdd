"""The shell's own data: the browsers that asked for push notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class PushSubscription(models.Model):
    """A browser (installed app or desktop) where a user turned notifications on (Web Push).

    What is stored is what the browser's push service needs to reach it: its endpoint URL and the
    keys the payload is encrypted with. The payload itself never carries health data.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1024, unique=True)
    p256dh = models.CharField(max_length=128)  # the browser's public key (P-256, base64url)
    auth = models.CharField(max_length=64)  # the shared authentication secret (base64url)
    device = models.CharField(max_length=120, blank=True)  # "Firefox on Windows", from the user agent
    language = models.CharField(max_length=8, blank=True)  # the notification's language
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"push subscription #{self.pk} of user {self.user_id}"
