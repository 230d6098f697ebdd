"""Template helpers of the library: safe inline markup, author lists."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from cordee.library.pubmed import markup as safe_markup

register = template.Library()


@register.filter
def inline_markup(value: str) -> SafeString:
    """Stored safe markup, re-checked (``markup.render``: only i, b, u, sup, sub remain as tags)."""
    return mark_safe(safe_markup.render(str(value or "")))  # noqa: S308  # render() escapes all but the five tags


@register.filter
def author_names(authors: list, limit: int = 6) -> str:
    names = [a.get("name", "") for a in authors or [] if a.get("name")]
    return ", ".join(names[:limit]) + (", et al." if len(names) > limit else "")
