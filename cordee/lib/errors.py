"""An error a service reports by code, with the HTTP status and the sentence the person is told.

A subclass names its table: ``ERRORS = {code: (status, message)}``; pages and the API both read
``status`` and ``message`` from the error, so the two say the same thing.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CodedError(Exception):
    ERRORS: ClassVar[dict[str, tuple[int, Any]]] = {}

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def status(self) -> int:
        return self.ERRORS[self.code][0]

    @property
    def message(self) -> str:
        return str(self.ERRORS[self.code][1])
