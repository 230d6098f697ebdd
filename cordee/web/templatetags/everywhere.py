"""Tags of every template (a builtin library: settings.TEMPLATES), for what every page draws.

- ``{% url %}``: a constant name without arguments is reversed once per script prefix and
  application, then kept (the shell's sixteen links reversed on every page cost ~10 % of a page);
  any other use is Django's own tag, unchanged.
- ``{% icon name %}``: the SVG of ``web/icons/<name>.svg``, read once (the navigation's icons,
  each an ``{% include %}`` rendered anew, drawn twice per page: the side bar and the tab bar).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.base import Parser, Token
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.template.loader import get_template
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()


@cache
def kept_reverse(name: str, prefix: str, current_app: str | None) -> str:
    """``reverse(name)`` under ``prefix`` (NoReverseMatch is raised, not kept)."""
    return reverse(name, current_app=current_app)


class KeptURLNode(URLNode):
    def render(self, context: Any) -> str:
        name = self.view_name.var
        if self.args or self.kwargs or self.view_name.filters or not isinstance(name, str):
            return super().render(context)
        try:  # as Django's tag: the request's application, else its namespace
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        try:
            url = kept_reverse(str(name), get_script_prefix(), current_app)
        except NoReverseMatch:
            return super().render(context)  # Django's answer: raised, or "" with "as"
        if self.asvar:
            context[self.asvar] = url
            return ""
        return str(conditional_escape(url)) if context.autoescape else url


@register.tag
def url(parser: Parser, token: Token) -> URLNode:
    node = django_url(parser, token)
    return KeptURLNode(node.view_name, node.args, node.kwargs, node.asvar)


@receiver(setting_changed)
def _urls_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "ROOT_URLCONF":  # a test's own URLs
        kept_reverse.cache_clear()


@register.simple_tag
def icon(name: str) -> str:
    """The icon ``name`` (a file of cordee/web/templates/web/icons/), its markup as written."""
    if settings.DEBUG:  # read anew, so that an edited icon shows without a restart
        return _icon(name)
    return _kept_icon(name)


def _icon(name: str) -> str:
    if not name.replace("-", "").isalnum():  # a name, never a path
        raise template.TemplateSyntaxError(f"icon {name!r}: not an icon's name")
    return mark_safe(get_template(f"web/icons/{name}.svg").render().strip())  # noqa: S308 -- our own SVG files


_kept_icon = cache(_icon)
