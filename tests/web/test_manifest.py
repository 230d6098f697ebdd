"""Cordée installs as a PWA: the manifest is served as such and every icon it names exists."""

from __future__ import annotations

import io
import json
import re

from PIL import Image


def test_manifest_is_json_served_with_its_media_type(client, db):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["start_url"] == "/"
    assert manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}


def test_every_icon_of_the_manifest_is_served_at_its_declared_size(client, db):
    manifest = json.loads(client.get("/manifest.webmanifest").content)
    for icon in manifest["icons"]:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response["Content-Type"].split(";")[0] == icon["type"], icon["src"]
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if icon["type"] == "image/png":
            image = Image.open(io.BytesIO(body))
            assert f"{image.width}x{image.height}" == icon["sizes"], icon["src"]
        else:
            assert body.lstrip().startswith(b"<svg"), icon["src"]


def test_pages_link_the_manifest_and_a_touch_icon_that_exists(client, db):
    html = client.get("/accounts/login/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    touch_icon = re.search(r'<link rel="apple-touch-icon" href="([^"]+)"', html)
    assert touch_icon is not None
    assert client.get(touch_icon.group(1)).status_code == 200
