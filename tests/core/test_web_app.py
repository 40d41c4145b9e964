"""The installable web app: the manifest, its icons, and the page shell's links to them."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from PIL import Image

from officehub.management.commands.make_app_icons import ICON_DIR, SIZES, draw_icon


def _manifest(client: Client) -> dict[str, Any]:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    data: dict[str, Any] = json.loads(response.content)
    return data


def test_the_manifest_is_public_and_names_the_app(db: None) -> None:
    manifest = _manifest(Client())  # anonymous: the login page links it too
    assert manifest["name"] == "OfficeHub 协同办公" and manifest["short_name"] == "OfficeHub"
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["theme_color"] == "#c8102e"
    purposes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert purposes == {("192x192", "any"), ("192x192", "maskable"), ("512x512", "any"), ("512x512", "maskable")}


def test_the_manifest_is_the_same_for_everyone(personas: Any) -> None:
    signed_in = Client()
    signed_in.force_login(personas.drafter)
    assert signed_in.get("/manifest.webmanifest").content == Client().get("/manifest.webmanifest").content


def test_the_manifest_icons_exist_at_their_sizes(db: None) -> None:
    for icon in _manifest(Client())["icons"]:
        size = int(icon["sizes"].split("x")[0])
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, f"{icon['src']} is not a static file"
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (size, size)
            # Maskable: the ground runs to every edge, opaque (a launcher may crop to a circle).
            rgb = image.convert("RGBA")
            for corner in ((0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)):
                assert rgb.getpixel(corner) == (200, 16, 46, 255)


def test_the_icon_drawing_keeps_to_the_maskable_safe_zone() -> None:
    image = draw_icon(512).convert("RGB")
    red = (200, 16, 46)
    centre = 256
    # Outside the safe circle (radius 40 % of the size) there is only the red ground.
    for x in range(0, 512, 4):
        for y in range(0, 512, 4):
            if (x - centre) ** 2 + (y - centre) ** 2 > (0.40 * 512) ** 2:
                assert image.getpixel((x, y)) == red, (x, y)
    # ...and inside it, the drawing.
    assert image.getpixel((centre, centre)) != red


def test_make_app_icons_draws_the_committed_icons(tmp_path: Path) -> None:
    call_command("make_app_icons", output=tmp_path, stdout=io.StringIO())
    for size in SIZES:
        drawn = Image.open(tmp_path / f"icon-{size}.png")
        committed = Image.open(ICON_DIR / f"icon-{size}.png")
        assert drawn.size == committed.size == (size, size)
        assert drawn.convert("RGB").tobytes() == committed.convert("RGB").tobytes(), "re-run manage.py make_app_icons"


@pytest.mark.parametrize("path", ["/login/", "/"])
def test_every_page_links_the_manifest_and_theme_colour(personas: Any, path: str) -> None:
    client = Client()
    if path != "/login/":
        client.force_login(personas.drafter)
    html = client.get(path).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="theme-color" content="#c8102e">' in html
    assert 'rel="apple-touch-icon"' in html


def test_the_notification_switch_is_in_the_shell_and_asks_nothing_by_itself(personas: Any) -> None:
    client = Client()
    client.force_login(personas.drafter)
    html = client.get("/").content.decode()
    assert 'id="desktop-notify"' in html and "开启桌面通知" in html
    notify_js = Path(finders.find("officehub/notify.js") or "").read_text()
    # requestPermission appears once, inside the switch's click handler.
    assert notify_js.count("requestPermission(") == 1
    handler = notify_js.index('control.addEventListener("click"')
    assert handler < notify_js.index("requestPermission(") < notify_js.index("renderControl();\n  }", handler)


def test_the_service_worker_caches_nothing() -> None:
    worker = Path(finders.find("officehub/sw.js") or "").read_text()
    # No fetch handler, no Cache Storage: pages and API answers never land on the device.
    assert '"fetch"' not in worker and "caches." not in worker


def test_favicon_ico_leads_to_the_app_icon_for_anyone(db: None) -> None:
    # Browsers ask for /favicon.ico on their own; it must not be a 404 in the console.
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/officehub/icons/icon-192.png")
