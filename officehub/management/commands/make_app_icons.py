"""Draw the installable web app's icons (``officehub/static/officehub/icons/``).

The icons are committed; run this after changing the drawing. They are *maskable*: the
red ground runs to every edge and the drawing (a 红头 document with a round seal) stays
inside the central safe zone (a circle of 40 % of the size), so any launcher mask — circle,
squircle, rounded square — crops only background. Drawn with shapes, not text, so no font
is needed; drawn at 4× and scaled down for smooth edges.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from PIL import Image, ImageDraw

ICON_DIR = Path(__file__).resolve().parent.parent.parent / "static" / "officehub" / "icons"
SIZES = (192, 512)
RED = (200, 16, 46)  # --red in app.css, also the manifest's theme colour
WHITE = (255, 255, 255)
GREY = (190, 196, 204)
SUPERSAMPLE = 4


def draw_icon(size: int) -> Image.Image:
    """One square icon of ``size`` pixels (RGB, opaque)."""
    big = size * SUPERSAMPLE
    image = Image.new("RGB", (big, big), RED)
    draw = ImageDraw.Draw(image)

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        return round(x0 * big), round(y0 * big), round(x1 * big), round(y1 * big)

    # The sheet: its corners sit 0.36 from the centre, inside the 0.40 safe circle.
    draw.rounded_rectangle(box(0.29, 0.22, 0.71, 0.78), radius=round(0.03 * big), fill=WHITE)
    # 红头: the issuer's red title bar and the red separator line under it (GB/T 9704).
    draw.rectangle(box(0.35, 0.29, 0.65, 0.35), fill=RED)
    draw.rectangle(box(0.34, 0.395, 0.66, 0.405), fill=RED)
    # Body text lines.
    for top in (0.45, 0.51, 0.57):
        draw.rectangle(box(0.35, top, 0.65 if top < 0.55 else 0.50, top + 0.025), fill=GREY)
    # The round seal (公章): a red ring with a five-pointed star, over the text's end.
    cx, cy, radius = 0.585 * big, 0.64 * big, 0.085 * big
    ring = 0.014 * big
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=RED, width=round(ring))
    star_outer, star_inner = radius * 0.55, radius * 0.55 * 0.382
    points = []
    for index in range(10):
        angle = -math.pi / 2 + index * math.pi / 5
        r = star_outer if index % 2 == 0 else star_inner
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    draw.polygon(points, fill=RED)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def icon_path(directory: Path, size: int) -> Path:
    return directory / f"icon-{size}.png"


class Command(BaseCommand):
    help = "Draw the web app icons (PNG 192 and 512, maskable) into officehub/static/officehub/icons/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", type=Path, default=ICON_DIR, help="directory to write into")

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["output"]
        directory.mkdir(parents=True, exist_ok=True)
        for size in SIZES:
            path = icon_path(directory, size)
            draw_icon(size).save(path, format="PNG", optimize=True)
            self.stdout.write(f"{path} ({size}×{size})")
