"""Janus (Debian's ``janus`` package, its VideoRoom plugin) as the SFU of calls beyond the mesh.

Each browser sends its camera once to Janus and receives the others from it; Cordée's servers still
carry no media. What Cordée does here, over Janus's HTTP API on the operator's network:

- **signed core tokens** (Janus ``token_auth`` with ``token_auth_secret``): ``"<expiry>,janus,
  janus.plugin.videoroom:" + base64(HMAC-SHA1(secret, "<expiry>,janus,janus.plugin.videoroom"))``,
  valid ``VIDEO_JANUS_TOKEN_TTL_SECONDS`` and refreshed by the call page while it is a member:
  without one nobody can open a Janus session, and one is good for the VideoRoom plugin only;
- **one private room per call**, created with the plugin's ``admin_key`` (browsers cannot create
  rooms), a room secret derived from Cordée's secret key (browsers cannot edit or destroy it) and
  an **access list**: a participant's room token is added when Cordée lets them in (member of the
  conversation, admitted to a teleconsultation) and removed, with the participant kicked, when
  they leave or are removed; the room is destroyed when the call ends;
- **publisher ids chosen by Cordée** (the participant row's id), so a page knows whose picture a
  feed is from Cordée's own list, not from a name a browser gave, and Cordée can kick a feed.

``config_files()`` writes a Janus configuration for these settings (``manage.py janus_config``
for the operator; the tests start Janus on loopback with one of their own).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.request
from pathlib import Path
from typing import Any

from django.conf import settings

PLUGIN = "janus.plugin.videoroom"


class JanusError(Exception):
    """Janus refused a request or could not be reached; ``code`` is Janus's error code (0 if none)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


def enabled() -> bool:
    return settings.VIDEO_SFU == "janus"


def _now() -> float:
    return time.time()


def signed_token(*, ttl: int | None = None, now: float | None = None, secret: str | None = None) -> str:
    """A core token Janus accepts until it expires, for the VideoRoom plugin only."""
    expiry = int((_now() if now is None else now) + (settings.VIDEO_JANUS_TOKEN_TTL_SECONDS if ttl is None else ttl))
    data = f"{expiry},janus,{PLUGIN}"
    key = (secret if secret is not None else settings.VIDEO_JANUS_SECRET).encode()
    signature = base64.b64encode(hmac.new(key, data.encode(), hashlib.sha1).digest()).decode()
    return f"{data}:{signature}"


def _derived(purpose: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"cordee.video.janus:{purpose}".encode(), hashlib.sha256).hexdigest()


def room_secret(room: int) -> str:
    return _derived(f"room:{room}")


def room_token(room: int, feed: int) -> str:
    """The room's access-list token of one participant (their feed id)."""
    return _derived(f"access:{room}:{feed}")[:40]


def new_room_id() -> int:
    """Random, and exact in a JavaScript number (< 2**53)."""
    return secrets.randbelow(2**52 - 1) + 1


class Session:
    """One short Janus session with a VideoRoom handle, for Cordée's own requests. A join waits
    for it inside its transaction (the access list before the answer): Janus on the operator's
    network answers in milliseconds, and an unreachable one fails the join within ``timeout``."""

    def __init__(self, url: str | None = None, *, timeout: float = 3.0) -> None:
        self.url = (url or settings.VIDEO_JANUS_URL).rstrip("/")
        self.timeout = timeout
        self.session: int | None = None
        self.handle: int | None = None

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = payload | {"transaction": secrets.token_hex(8), "token": signed_token(ttl=60)}
        request = urllib.request.Request(  # noqa: S310  (the operator's Janus URL, http or https)
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = json.loads(response.read())
        except (OSError, ValueError) as error:
            raise JanusError(f"Janus unreachable: {error.__class__.__name__}") from error
        if answer.get("janus") == "error":
            refusal = answer.get("error") or {}
            raise JanusError(str(refusal.get("reason", "error")), int(refusal.get("code", 0)))
        return dict(answer)

    def __enter__(self) -> Session:
        self.session = int(self._post("", {"janus": "create"})["data"]["id"])
        self.handle = int(self._post(f"/{self.session}", {"janus": "attach", "plugin": PLUGIN})["data"]["id"])
        return self

    def __exit__(self, *exc: object) -> None:
        if self.session is not None:
            try:
                self._post(f"/{self.session}", {"janus": "destroy"})
            except JanusError:
                pass  # the session times out on Janus's side anyway

    def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous VideoRoom request (create, allowed, kick, destroy…): its answer's data."""
        answer = self._post(f"/{self.session}/{self.handle}", {"janus": "message", "body": body})
        data = dict((answer.get("plugindata") or {}).get("data") or {})
        if data.get("error_code"):
            raise JanusError(str(data.get("error", "error")), int(data["error_code"]))
        return data


def create_room(room: int, publishers: int) -> None:
    with Session() as janus:
        janus.request(
            {
                "request": "create",
                "room": room,
                "admin_key": settings.VIDEO_JANUS_ADMIN_KEY,
                "secret": room_secret(room),
                "is_private": True,
                # Subscriptions must name their owner's publisher (private id): a feed kicked out
                # of the room takes the subscriptions it opened with it.
                "require_pvtid": True,
                "publishers": publishers,
                "allowed": [],
                "bitrate": settings.VIDEO_SFU_BITRATE,
                "audiocodec": "opus",
                "videocodec": "vp8",
                "notify_joining": False,
                "permanent": False,
            }
        )


# Janus's VideoRoom error codes a tidy-up may meet and ignore: the room or the feed is already gone.
NO_SUCH_ROOM = 426
NO_SUCH_FEED = 428


def _access_list(room: int, feed: int, action: str) -> dict[str, Any]:
    """The request that adds (``action="add"``) or removes a participant's room token."""
    return {
        "request": "allowed",
        "room": room,
        "secret": room_secret(room),
        "action": action,
        "allowed": [room_token(room, feed)],
    }


def _tidy_up(janus: Session, body: dict[str, Any]) -> None:
    """A request whose target may already be gone (the room, the feed): that is not an error."""
    try:
        janus.request(body)
    except JanusError as error:
        if error.code not in (NO_SUCH_ROOM, NO_SUCH_FEED):
            raise


def _kick(room: int, feed: int) -> dict[str, Any]:
    return {"request": "kick", "room": room, "secret": room_secret(room), "id": feed}


def allow(room: int, feed: int, *, kick_first: bool = False) -> None:
    """Put a participant's room token on the access list; ``kick_first``: a page of theirs that
    was lost may still hold their feed id, kick it out first (one Janus session for both)."""
    with Session() as janus:
        if kick_first:
            _tidy_up(janus, _kick(room, feed))
        janus.request(_access_list(room, feed, "add"))


def revoke(room: int, feed: int) -> None:
    """Take a participant's room token away and kick their feed, if still there."""
    with Session() as janus:
        _tidy_up(janus, _access_list(room, feed, "remove"))
        _tidy_up(janus, _kick(room, feed))


def destroy_room(room: int) -> None:
    with Session() as janus:
        _tidy_up(janus, {"request": "destroy", "room": room, "secret": room_secret(room), "permanent": False})


def client_config(room: int, feed: int) -> dict[str, Any]:
    """What a participant's page needs to publish and subscribe: no secret of Cordée's in it."""
    return {
        "url": settings.VIDEO_JANUS_WS_URL,
        "room": room,
        "feed": feed,
        "access": room_token(room, feed),
        "token": signed_token(),
        "ttl": settings.VIDEO_JANUS_TOKEN_TTL_SECONDS,
    }


# --- configuration ---------------------------------------------------------------------------

_LIBRARIES = Path("/usr/lib/x86_64-linux-gnu/janus")


def _libraries() -> Path:
    for candidate in (_LIBRARIES, *Path("/usr/lib").glob("*/janus")):
        if (candidate / "plugins" / "libjanus_videoroom.so").exists():
            return candidate
    raise FileNotFoundError("Janus's libraries were not found (apt-get install janus)")


def config_files(
    directory: Path,
    *,
    secret: str,
    admin_key: str,
    http_port: int = 8088,
    ws_port: int = 8188,
    ip: str = "127.0.0.1",
    rtp_ports: str = "20000-40000",
    public_ip: str = "",
) -> Path:
    """Write a Janus configuration into ``directory``: signed tokens, the VideoRoom plugin only,
    the HTTP API (for Cordée) and plain WebSockets (for browsers, behind the TLS proxy) on ``ip``,
    no admin API, no event handler. Returns the main file (``janus -C``)."""
    directory.mkdir(parents=True, exist_ok=True)
    libraries = _libraries()
    folders = {}
    for kind, keep in (
        ("plugins", ["libjanus_videoroom.so"]),
        ("transports", ["libjanus_http.so", "libjanus_websockets.so"]),
        ("events", []),
        ("loggers", []),
    ):
        folder = directory / kind
        folder.mkdir(exist_ok=True)
        for name in keep:
            link = folder / name
            if not link.exists():
                link.symlink_to(libraries / kind / name)
        folders[kind] = folder

    def quoted(value: str) -> str:
        return json.dumps(value)  # a JSON string is a valid libconfig string

    nat = [f"\tnat_1_1_mapping = {quoted(public_ip)}"] if public_ip else []
    main = directory / "janus.jcfg"
    main.write_text(
        "\n".join(
            [
                "general: {",
                f"\tconfigs_folder = {quoted(str(directory))}",
                f"\tplugins_folder = {quoted(str(folders['plugins']))}",
                f"\ttransports_folder = {quoted(str(folders['transports']))}",
                f"\tevents_folder = {quoted(str(folders['events']))}",
                f"\tloggers_folder = {quoted(str(folders['loggers']))}",
                "\tdebug_level = 3",
                '\tserver_name = "Cordee"',
                "\tsession_timeout = 60",
                "\ttoken_auth = true",
                f"\ttoken_auth_secret = {quoted(secret)}",
                f"\tadmin_secret = {quoted(secrets.token_hex(24))}",  # no admin API is opened anyway
                "}",
                "media: {",
                f"\trtp_port_range = {quoted(rtp_ports)}",
                "}",
                "nat: {",
                '\tice_ignore_list = "vmnet"',
                *nat,
                "}",
                "plugins: {",
                "}",
                "transports: {",
                "}",
                "events: {",
                "}",
                "",
            ]
        )
    )
    (directory / "janus.plugin.videoroom.jcfg").write_text(
        f"general: {{\n\tadmin_key = {quoted(admin_key)}\n\tlock_rtp_forward = true\n\tstring_ids = false\n}}\n"
    )
    (directory / "janus.transport.http.jcfg").write_text(
        "\n".join(
            [
                "general: {",
                '\tjson = "compact"',
                '\tbase_path = "/janus"',
                "\thttp = true",
                f"\tport = {http_port}",
                f"\tip = {quoted(ip)}",
                "\thttps = false",
                "}",
                "admin: {",
                "\tadmin_http = false",
                "}",
                "",
            ]
        )
    )
    (directory / "janus.transport.websockets.jcfg").write_text(
        "\n".join(
            [
                "general: {",
                '\tjson = "compact"',
                "\tws = true",
                f"\tws_port = {ws_port}",
                f"\tws_ip = {quoted(ip)}",
                "\twss = false",
                "}",
                "admin: {",
                "\tadmin_ws = false",
                "}",
                "",
            ]
        )
    )
    return main
