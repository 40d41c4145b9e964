"""Bench-only settings: production settings plus bare views (bench/urls_api.py)."""

from officehub.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_api"
