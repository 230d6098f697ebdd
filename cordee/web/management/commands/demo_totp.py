from typing import Any

from django.core.management.base import BaseCommand

from cordee.accounts import demo


class Command(BaseCommand):
    help = "Print the current TOTP code of the demo accounts (demo secret only)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(demo.totp_now())
