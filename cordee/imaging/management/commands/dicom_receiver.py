"""``manage.py dicom_receiver``: the DICOM C-STORE receiver, a process of its own (see ``imaging.receiver``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from cordee.imaging import receiver


class Command(BaseCommand):
    help = "Receive DICOM instances over the network (C-STORE, C-ECHO) into Cordée."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--address", default=None, help="address to listen on (default DICOM_BIND_ADDRESS)")
        parser.add_argument("--port", type=int, default=None, help="port (default DICOM_PORT)")

    def handle(self, *args: Any, **options: Any) -> None:
        address = options["address"] or settings.DICOM_BIND_ADDRESS
        port = options["port"] or settings.DICOM_PORT
        self.stdout.write(f"DICOM receiver {settings.DICOM_AE_TITLE} on {address}:{port}")
        receiver.serve(address, port, block=True)
