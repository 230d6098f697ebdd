"""``manage.py janus_config DIR``: a Janus configuration matching Cordée's SFU settings.

manage.py janus_config /etc/cordee/janus --public-ip 203.0.113.7
janus -C /etc/cordee/janus/janus.jcfg -F /etc/cordee/janus

It holds the token secret (VIDEO_JANUS_SECRET) and the VideoRoom's admin key (VIDEO_JANUS_ADMIN_KEY):
the directory is made readable by its owner only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cordee.video import janus


class Command(BaseCommand):
    help = "Write the Janus configuration (signed tokens, VideoRoom only, no admin API) for VIDEO_SFU=janus."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--ip", default="127.0.0.1", help="address the HTTP and WebSocket APIs listen on")
        parser.add_argument("--ws-port", type=int, default=8188, help="WebSocket port (browsers, via the TLS proxy)")
        parser.add_argument("--rtp-ports", default="20000-40000", help="UDP ports of the media, e.g. 20000-40000")
        parser.add_argument("--public-ip", default="", help="the public address, when Janus is behind a 1:1 NAT")

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.VIDEO_JANUS_SECRET and settings.VIDEO_JANUS_ADMIN_KEY):
            raise CommandError("Set VIDEO_JANUS_SECRET and VIDEO_JANUS_ADMIN_KEY (or their _FILE) first.")
        http_port = urlsplit(settings.VIDEO_JANUS_URL).port or 8088
        directory: Path = options["directory"]
        try:
            main = janus.config_files(
                directory,
                secret=settings.VIDEO_JANUS_SECRET,
                admin_key=settings.VIDEO_JANUS_ADMIN_KEY,
                http_port=http_port,
                ws_port=options["ws_port"],
                ip=options["ip"],
                rtp_ports=options["rtp_ports"],
                public_ip=options["public_ip"],
            )
        except FileNotFoundError as missing:
            raise CommandError(str(missing)) from None
        directory.chmod(0o700)
        self.stdout.write(f"Written. Start Janus with:\n  janus -C {main} -F {directory}")
