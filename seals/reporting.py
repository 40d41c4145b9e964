"""Error reports that never show the key-encryption key.

Django masks settings and request metadata whose names match API, TOKEN, KEY, SECRET, ...
but "KEK" (``SEAL_KEK``, ``OFFICEHUB_SEAL_KEK`` in a dev server's environ) matches none
of them, so a debug page or an error e-mail would print it. This filter adds it.
"""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter


class KekSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|KEK|SECRET|PASS|SIGNATURE|HTTP_COOKIE", flags=re.IGNORECASE
    )
