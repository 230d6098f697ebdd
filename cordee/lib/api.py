"""What every app's JSON API shares: one error shape, strict input schemas, a strict JSON parser,
and the exception handlers that answer in that shape.

- ``ErrorOut`` (``{"detail": "…", "code": "…"}``) is the body of every 4xx answer: 400 ``invalid``
  (a body or parameter that does not fit the schema, or a service's ``ValidationError``), 401
  ``unauthenticated``, 403 ``forbidden``, 404 ``not_found`` (missing and forbidden objects alike),
  413 ``too_large``, 429 ``rate_limited``. ``ERRORS`` declares them on every operation, so that
  the published schema says what the API answers.
- ``require_recent_authentication``: a dangerous operation (signing…) asks, as its page does with
  allauth's ``reauthentication_required``, for a sign-in or re-authentication (with the second
  factor) within ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` ("sudo mode"); otherwise 403
  ``reauthentication_required``: re-authenticate in the browser, then call again.
- ``StrictIn``: input schemas take a JSON object and nothing else (a bare string is not a group
  whose ``title`` is ``str.title``), integers that are not booleans, no unknown fields.
- ``StrictJSONParser``: JSON text that is not valid Unicode (a lone surrogate such as ``"\\ud800"``,
  which no database or encryption can store) is refused at the edge with a 400.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from pydantic import ConfigDict, Field, ValidationInfo, model_validator
from pydantic.functional_validators import ModelWrapValidatorHandler

from cordee.lib.ids import MAX_ID

_CODES = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
_CODES |= {409: "conflict", 411: "length_required", 413: "too_large", 415: "unsupported_media_type"}
_CODES |= {429: "rate_limited"}


# An id in a body, as in a URL: a positive 64-bit integer (anything else is refused with a 400).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# A counter (message numbers, read marks): 0 or more, within 64 bits.
Count = Annotated[int, Field(ge=0, le=MAX_ID)]


class ErrorOut(Schema):
    detail: str
    code: str


def error(status: int, detail: str, code: str = "") -> tuple[int, ErrorOut]:
    return status, ErrorOut(detail=detail, code=code or _CODES.get(status, "error"))


ERRORS: dict[int, Any] = {status: ErrorOut for status in (400, 401, 403, 404, 429)}


class ApiError(HttpError):
    """An answer in the error shape with a specific ``code`` (e.g. 403 ``closed``)."""

    def __init__(self, status_code: int, detail: str, code: str = "") -> None:
        super().__init__(status_code, detail)
        self.code = code


def require_recent_authentication(request: HttpRequest) -> None:
    """Sudo mode for the API: the same test as the pages' ``reauthentication_required`` decorator."""
    # Here: allauth's flows import its models, which need the app registry ready.
    from allauth.account.internal.flows.reauthentication import is_reauthentication_required

    if is_reauthentication_required(request, app=""):
        raise ApiError(
            403,
            "This operation needs a recent sign-in: re-authenticate (password and second factor), then try again.",
            "reauthentication_required",
        )


# A binary answer (a file, a preview): its type is the file's own.
BINARY_RESPONSE = {"description": "The file", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}


class StrictIn(Schema):
    """Base of every input schema."""

    model_config = ConfigDict(strict=True, extra="forbid", from_attributes=False)

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values: Any, handler: ModelWrapValidatorHandler[Any], info: ValidationInfo) -> Any:
        """Replaces Ninja's (same name): an input is a JSON object, validated as it is, not read
        through attribute look-ups (a bare string had ``title``: ``str.title``)."""
        if not isinstance(values, dict | cls):
            raise ValueError("a JSON object is expected")
        return handler(values)


def _check_unicode(value: Any) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # UnicodeEncodeError on a lone surrogate
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_unicode(key)
            _check_unicode(item)
    elif isinstance(value, list):
        for item in value:
            _check_unicode(item)


class StrictJSONParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = json.loads(request.body)
        _check_unicode(data)  # raises: ninja answers 400 (then our handler gives the error shape)
        return data


def install_error_handlers(api: NinjaAPI) -> None:
    """Every error the API gives is an ``ErrorOut``."""

    def answer(request: HttpRequest, status: int, detail: str, code: str = "") -> HttpResponse:
        return api.create_response(request, error(status, detail, code)[1].dict(), status=status)

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, exc.status_code, str(exc), getattr(exc, "code", ""))

    def on_unauthenticated(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, 401, "Authentication required.")

    def on_invalid_input(request: HttpRequest, exc: Any) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "data"))
        message = str(first.get("msg", "Invalid input."))
        return answer(request, 400, f"{where}: {message}" if where else message)

    def on_service_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, 400, " ".join(exc.messages))

    def on_forbidden(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, 403, "Forbidden.")

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return answer(request, 404, "Not found.")

    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(AuthenticationError, on_unauthenticated)
    api.add_exception_handler(NinjaValidationError, on_invalid_input)
    api.add_exception_handler(DjangoValidationError, on_service_error)
    api.add_exception_handler(PermissionDenied, on_forbidden)
    api.add_exception_handler(Http404, on_not_found)


def is_unicode(text: str) -> bool:
    """Whether ``text`` can be stored (UTF-8): JSON may carry lone surrogates that cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
