"""The module registry: what each app shows in the shell, registered from its ``AppConfig.ready()``.

The shell (``cordee.web``) names no module: it draws its navigation, its "what waits for me" home
page, its global search and its notifications from what the apps registered here.

- ``Entry``: a navigation entry (label, URL, who sees it). ``chosen=True`` makes it a *module*,
  listed on "My modules" and shown only to users who chose it (``User.modules`` holds the keys);
  other entries are shown to whoever they apply to (``kinds`` and ``applies``). An entry may carry
  a ``Waiting`` count (what waits for the user there: one cheap query) and a ``HomeCard`` (its slot
  on the home page).
- ``Search``: a section of the global search (patients, conversations, drugs…).
- ``PatientLink``: a link on a patient's page (care's), to the module's part of that patient
  (the record's documents…): ``url_name`` takes the patient's id.
- ``ProductLink``: a link on a drug's page (drugs'), to the module's part of that product (the
  library's articles on its active substances): ``url_name`` takes the product's CIS.
- ``ConversationTool``: a tool on a conversation's page (messaging's), from a module above
  messaging (video's "call"): a template included in the page's head with the conversation and
  the user (a form, a banner), and a script the page loads (it hears the socket's frames through
  the ``cordee:socket-frame`` DOM event).
- ``ShellTool``: something of a module on every page of the users it applies to, outside any
  entry (video's incoming-call banner): a template included at the end of the page's body, with
  ``user``. ``applies(user)`` must not query the database: it runs on every page.
- ``register_purposes``: the words a patient reads in their access history for an app's audit
  purpose codes (an app above ``care`` cannot add them to ``care.purposes`` itself).
- ``something_waits``: a signal an app sends, after its commit, when something new waits for
  users (a message…); the shell turns it into a push notification that carries no health data.

Registering the same key twice with a different definition is a programming error.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils.functional import Promise

from cordee.lib.paging import count_compiled, countable
from cordee.lib.prepared import Prepared

Text = str | Promise
PROFESSIONAL, STAFF, PATIENT = "professional", "staff", "patient"
ALL_KINDS = frozenset({PROFESSIONAL, STAFF, PATIENT})
WORKFORCE = frozenset({PROFESSIONAL, STAFF})  # professionals and staff: never a patient

# Sent by an app after its commit: ``entry`` (the key of the registered entry where it waits) and
# ``user_ids`` (a list of user ids, or a callable returning it, evaluated only if someone listens
# for it: the shell does so only while push subscriptions exist).
something_waits = Signal()


@dataclass(frozen=True)
class Waiting:
    """What waits for a user in an entry: ``rows(user)`` is the queryset whose rows are counted
    (the shell counts every entry of the navigation in one query: ``waiting_counts``);
    ``describe(n)`` says it in words ("3 unread conversations") for screen readers and the home page."""

    rows: Callable[[Any], QuerySet[Any]]
    describe: Callable[[int], str]
    reads: tuple[str, ...] = ()  # objects related to the user that ``rows`` reads ("professional")
    # ``rows``' SQL, kept for each user (``prepared``: compiling seven modules' querysets on every
    # page cost the ORM ~15 % of the page; a ``rows`` that reads the clock is compiled each time)
    counted: Prepared = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "counted", Prepared(self.rows, shape=countable, reads=self.reads))


def waiting_counts(user: Any, entries: Iterable[Entry]) -> dict[str, int]:
    """How much waits for ``user`` in each of ``entries`` that counts, by key: one query whatever
    the number of modules (``paging.count_each``; each used to cost its own query on every page)."""
    counted = [(entry.key, entry.waiting.counted.sql(user)) for entry in entries if entry.waiting is not None]
    if not counted:
        return {}
    counts = count_compiled([select for _key, select in counted], using=DEFAULT_DB_ALIAS)
    return dict(zip((key for key, _select in counted), counts, strict=True))


@dataclass(frozen=True)
class HomeCard:
    """An entry's slot on the home page: ``context(request)`` returns the template's context, or
    None when there is nothing to show."""

    template: str
    context: Callable[[HttpRequest], dict[str, Any] | None]


@dataclass(frozen=True)
class Entry:
    key: str
    label: Text
    url_name: str
    description: Text = ""
    icon: str = "dot"  # an icon of cordee/web/templates/web/icons/
    kinds: frozenset[str] = ALL_KINDS  # which kinds of account may ever see it
    chosen: bool = False  # a module: shown only when the user chose it
    default_for: frozenset[str] = frozenset()  # kinds that have the module from their sign-up
    applies: Callable[[Any], bool] | None = None  # a further condition (one query at most)
    waiting: Waiting | None = None
    home: HomeCard | None = None
    menu: Literal["main", "user"] = "main"  # the main navigation, or the user menu
    fragment: str = ""  # a place in the page ("sessions" for …/#sessions)
    order: int = 100
    push_text: Text = ""  # the words of a push notification when something new waits here


@dataclass(frozen=True)
class SearchHit:
    label: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class Search:
    """A section of the global search. ``search(request, text)`` returns at most a few hits; every
    hit it returns may be shown (it does its own access checks and audit)."""

    key: str
    label: Text
    search: Callable[[HttpRequest, str], list[SearchHit]]
    kinds: frozenset[str] = ALL_KINDS
    applies: Callable[[Any], bool] | None = None
    hint: Text = ""  # what to type, shown under the search box
    more_url: Callable[[str], str] | None = None  # the module's own search for the same text
    order: int = 100


@dataclass(frozen=True)
class PatientLink:
    """A link of a module on a patient's page; ``url_name`` is reversed with the patient's id."""

    key: str
    label: Text
    url_name: str
    description: Text = ""
    kinds: frozenset[str] = ALL_KINDS  # who sees it there (the page itself checks the access)
    order: int = 100


@dataclass(frozen=True)
class ProductLink:
    """A link of a module on a drug's page (the drug database's), to the module's part of that
    product (the library's articles on its substances): ``url_name`` takes the product's CIS."""

    key: str
    label: Text
    url_name: str
    description: Text = ""
    kinds: frozenset[str] = WORKFORCE
    order: int = 100


@dataclass(frozen=True)
class ConversationTool:
    """A module's tool on a conversation's page: ``template`` gets ``conversation`` and ``user``
    (``applies(user, conversation)`` decides whether it is shown), ``script`` a static path."""

    key: str
    template: str
    script: str = ""
    applies: Callable[[Any, Any], bool] | None = None
    order: int = 100


@dataclass(frozen=True)
class ShellTool:
    """A module's part of every page (see the module docstring); ``module``: the key of the module
    the user must have chosen for it ("" for none)."""

    key: str
    template: str
    module: str = ""
    kinds: frozenset[str] = ALL_KINDS
    applies: Callable[[Any], bool] | None = None
    order: int = 100


_conversation_tools: dict[str, ConversationTool] = {}
_shell_tools: dict[str, ShellTool] = {}
_entries: dict[str, Entry] = {}
_searches: dict[str, Search] = {}
_purposes: dict[str, Text] = {}
_patient_links: dict[str, PatientLink] = {}
_product_links: dict[str, ProductLink] = {}


def _add(registry: dict[str, Any], key: str, value: Any) -> None:
    existing = registry.get(key)
    if existing is not None and existing != value:
        raise ImproperlyConfigured(f"module registry: {key!r} is registered twice, differently")
    registry[key] = value


def register(entry: Entry) -> Entry:
    _add(_entries, entry.key, entry)
    return entry


def register_search(search: Search) -> Search:
    _add(_searches, search.key, search)
    return search


def register_patient_link(link: PatientLink) -> PatientLink:
    _add(_patient_links, link.key, link)
    return link


def patient_links(user: Any) -> list[PatientLink]:
    """The links a user sees on a patient's page, in order."""
    links = sorted(_patient_links.values(), key=lambda link: (link.order, link.key))
    return [link for link in links if user.kind in link.kinds]


def register_product_link(link: ProductLink) -> ProductLink:
    _add(_product_links, link.key, link)
    return link


def product_links(user: Any) -> list[ProductLink]:
    """The links a user sees on a drug's page, in order."""
    links = sorted(_product_links.values(), key=lambda link: (link.order, link.key))
    return [link for link in links if getattr(user, "kind", None) in link.kinds]


def register_conversation_tool(tool: ConversationTool) -> ConversationTool:
    _add(_conversation_tools, tool.key, tool)
    return tool


def conversation_tools(user: Any, conversation: Any) -> list[ConversationTool]:
    """The tools ``user`` sees on ``conversation``'s page, in order."""
    tools = sorted(_conversation_tools.values(), key=lambda tool: (tool.order, tool.key))
    return [tool for tool in tools if tool.applies is None or tool.applies(user, conversation)]


def register_shell_tool(tool: ShellTool) -> ShellTool:
    _add(_shell_tools, tool.key, tool)
    return tool


def shell_tools(user: Any) -> list[ShellTool]:
    """The tools on every page of ``user``'s, in order."""
    chosen = set(getattr(user, "modules", None) or [])
    tools = sorted(_shell_tools.values(), key=lambda tool: (tool.order, tool.key))
    return [
        tool
        for tool in tools
        if user.kind in tool.kinds
        and (not tool.module or tool.module in chosen)
        and (tool.applies is None or tool.applies(user))
    ]


def register_purposes(labels: Mapping[str, Text]) -> None:
    for code, label in labels.items():
        _add(_purposes, code, label)


def entries() -> list[Entry]:
    return sorted(_entries.values(), key=lambda entry: (entry.order, entry.key))


def entry(key: str) -> Entry | None:
    return _entries.get(key)


def searches() -> list[Search]:
    return sorted(_searches.values(), key=lambda search: (search.order, search.key))


def purpose_label(code: str) -> Text | None:
    return _purposes.get(code)


# --- modules: the entries people choose -----------------------------------------------------


def modules(kind: str | None = None) -> list[Entry]:
    """The modules (in the registry's order), those a kind of account may choose if given."""
    return [e for e in entries() if e.chosen and (kind is None or kind in e.kinds)]


def module_keys() -> list[str]:
    return [module.key for module in modules()]


def default_modules(kind: str) -> list[str]:
    return [module.key for module in modules(kind) if kind in module.default_for]


def check_modules(keys: Iterable[str], kind: str) -> list[str]:
    """The chosen keys in the registry's order, without duplicates; ``ValueError`` for a key that
    is not a module this kind of account may choose."""
    wanted = set(keys)
    allowed = [module.key for module in modules(kind)]
    if wanted - set(allowed):
        raise ValueError(sorted(wanted - set(allowed)))
    return [key for key in allowed if key in wanted]


def shown_to(user: Any, *, menu: str = "main") -> list[Entry]:
    """The entries of ``menu`` that ``user`` sees, in order (``applies`` is called for each)."""
    chosen = set(getattr(user, "modules", None) or [])
    shown = []
    for candidate in entries():
        if candidate.menu != menu or user.kind not in candidate.kinds:
            continue
        if candidate.chosen and candidate.key not in chosen:
            continue
        if candidate.applies is not None and not candidate.applies(user):
            continue
        shown.append(candidate)
    return shown


def searches_for(user: Any) -> list[Search]:
    return [
        search
        for search in searches()
        if user.kind in search.kinds and (search.applies is None or search.applies(user))
    ]


def folded(text: str) -> str:
    """Text without case nor accents, for matching what people type against labels."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))
