"""Attachments of a request (a referral, a tele-expertise): a kind and an id, resolved here.

A request carries references to objects of other apps (a document of the record now; a
prescription or an imaging study when those apps exist) without importing them: each app
registers its kind once (from its ``AppConfig.ready()``) with three functions, and the requests
store only ``(kind, object_id)``.

- ``check(user, patient_id, raw_id, request)``: the object ``raw_id`` if ``user`` may open it
  **and** it belongs to the patient ``patient_id``; else ``Http404`` (audited by the app's own
  getter), exactly as for a missing one. Returns its title (health data: shown, never logged).
- ``serve(patient_id, object_id)``: the object's file as a response, for a reader the request
  already let through (the receiver of a referral may not open the record itself); the app checks
  again that the object belongs to the patient.
- ``candidates(user, patient_id)``: ``(id, title)`` of the objects ``user`` could attach, for the
  forms (already within the user's access to the patient).

A kind that is not registered is the same 404 as a missing object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponseBase
from django.utils.functional import Promise


@dataclass(frozen=True)
class Attachable:
    kind: str
    label: str | Promise
    check: Callable[[Any, int, Any, HttpRequest | None], str]
    serve: Callable[[int, str], HttpResponseBase]
    candidates: Callable[[Any, int], list[tuple[str, str]]]
    titles: Callable[[int, list[str]], dict[str, str]]  # titles of attached objects of one patient


_kinds: dict[str, Attachable] = {}


def register(attachable: Attachable) -> Attachable:
    existing = _kinds.get(attachable.kind)
    if existing is not None and existing != attachable:
        raise ImproperlyConfigured(f"attachables: {attachable.kind!r} is registered twice, differently")
    _kinds[attachable.kind] = attachable
    return attachable


def kind(name: str) -> Attachable:
    """The registered kind, or the 404 of a missing object."""
    found = _kinds.get(str(name))
    if found is None:
        raise Http404
    return found


def kinds() -> list[Attachable]:
    return [_kinds[name] for name in sorted(_kinds)]
