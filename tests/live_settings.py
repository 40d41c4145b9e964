"""Settings for the Daphne process that end-to-end tests start.

Test users are created with the fast MD5 hasher, so the live server must accept it too.
"""

from officehub.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
