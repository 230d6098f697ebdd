"""The builtin tags of every template (cordee/web/templatetags/everywhere.py) answer as Django's."""

from __future__ import annotations

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse

from cordee.web.templatetags.everywhere import kept_reverse


def _render(text: str, **context: object) -> str:
    return Template(text).render(Context(context))


def test_a_constant_url_is_reversed_once_and_written_as_django_writes_it():
    kept_reverse.cache_clear()
    expected = f"{reverse('web:home')}|{reverse('web:search')}"
    for _ in range(3):
        assert _render("{% url 'web:home' %}|{% url 'web:search' %}") == expected
    assert kept_reverse.cache_info().misses == 2 and kept_reverse.cache_info().hits == 4


def test_other_urls_are_django_s_own():
    assert _render("{% url 'messaging:conversation' 7 %}") == reverse("messaging:conversation", args=[7])
    assert _render("{% url name %}", name="web:home") == reverse("web:home")  # a variable: not kept
    assert _render("{% url 'nowhere:at-all' as there %}[{{ there }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        _render("{% url 'nowhere:at-all' %}")


def test_an_icon_is_its_file_as_the_include_drew_it():
    assert _render('{% icon "home" %}') == render_to_string("web/icons/home.svg").strip()
    assert _render("{% icon name %}", name="bell").startswith('<svg class="icon"')
    with pytest.raises(TemplateSyntaxError):
        _render('{% icon "../base" %}')
