"""WSGI entry point for the HTTP workers (gunicorn): pages and the API, no sockets."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "officehub.settings")
application = get_wsgi_application()
