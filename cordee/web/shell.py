"""The shell around every page: navigation with the counts of what waits, the user menu, the home
page's cards. Everything comes from the module registry (``cordee.lib.modules``): nothing here
names a module.

A request computes its shell once (``shell_for``), lazily: a page that draws no navigation (an
error page, a JSON answer) pays nothing. Each entry's ``applies`` and ``count`` is one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix

from cordee.accounts.middleware import MandatoryMfaMiddleware
from cordee.lib import modules
from cordee.web.templatetags.everywhere import kept_reverse

_MEMO = "_cordee_shell"


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url: str
    icon: str
    count: int | None  # None: the entry counts nothing
    describe: str  # the count in words ("" when nothing waits)
    current: bool


def _entry_url(url_name: str) -> str | None:
    """An entry's URL, reversed once (``kept_reverse``); None when its app's URLs are not installed."""
    try:
        return kept_reverse(url_name, get_script_prefix(), None)
    except NoReverseMatch:
        return None


class Shell:
    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.user: Any = request.user

    def _item(self, entry: modules.Entry) -> NavItem | None:
        url = _entry_url(entry.url_name)
        if url is None:
            return None
        current = self.request.path.startswith(url) and not entry.fragment
        url += f"#{entry.fragment}" if entry.fragment else ""
        count = self._counts.get(entry.key) if entry.waiting is not None else None
        describe = entry.waiting.describe(count) if entry.waiting is not None and count else ""
        return NavItem(entry.key, str(entry.label), url, entry.icon, count, describe, current)

    @cached_property
    def _entries(self) -> list[modules.Entry]:
        return modules.shown_to(self.user) if self.user.is_authenticated else []

    @cached_property
    def _menu_entries(self) -> list[modules.Entry]:
        return modules.shown_to(self.user, menu="user") if self.user.is_authenticated else []

    @cached_property
    def _counts(self) -> dict[str, int]:
        """What waits in every entry of the navigation and the user's menu: one query."""
        return modules.waiting_counts(self.user, [*self._entries, *self._menu_entries])

    @cached_property
    def main(self) -> list[NavItem]:
        return [item for item in map(self._item, self._entries) if item is not None]

    @cached_property
    def user_menu(self) -> list[NavItem]:
        return [item for item in map(self._item, self._menu_entries) if item is not None]

    @cached_property
    def total(self) -> int:
        """Everything that waits, across the navigation (the tab's title shows it)."""
        return sum(item.count or 0 for item in self.main)

    @property
    def home_current(self) -> bool:
        return self.request.path == _entry_url("web:home")

    @cached_property
    def tools(self) -> list[modules.ShellTool]:
        """The modules' parts of every page (an incoming call's banner…): no query. None before
        a mandatory second factor (the set-up pages): the socket they open would be refused."""
        if not self.user.is_authenticated:
            return []
        if not MandatoryMfaMiddleware.passed(self.user, self.request.session):
            return []
        return modules.shell_tools(self.user)

    @property
    def searches(self) -> list[modules.Search]:
        return modules.searches_for(self.user) if self.user.is_authenticated else []

    def cards(self) -> list[tuple[modules.Entry, str, dict[str, Any]]]:
        """The home page's cards, in the navigation's order: (entry, template, context). An entry
        with a card of its own shows it; one that only counts what waits (referrals, requests,
        studies to reconcile…) gets the shell's card saying it in words, with a link, when its
        count is not zero (the count the navigation already read: no further query)."""
        found = []
        items = {item.key: item for item in self.main}
        for entry in self._entries:
            if entry.home is not None:
                context = entry.home.context(self.request)
                if context is not None:
                    found.append((entry, entry.home.template, context))
            elif (item := items.get(entry.key)) is not None and item.count:
                found.append((entry, "web/_home_waiting.html", {"item": item}))
        return found


def shell_for(request: HttpRequest) -> Shell:
    shell = getattr(request, _MEMO, None)
    if shell is None:
        shell = Shell(request)
        setattr(request, _MEMO, shell)
    return shell
