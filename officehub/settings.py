"""OfficeHub settings, read from OFFICEHUB_* environment variables (see .env.example).

Production needs OFFICEHUB_SECRET_KEY, OFFICEHUB_DATABASE_URL (PostgreSQL) and
OFFICEHUB_ALLOWED_HOSTS. With OFFICEHUB_DEBUG=true and no database URL, a newcomer's first
run falls back to a SQLite file under var/ and an in-memory channel layer.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Any

import dj_database_url

from officehub.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_dates,
    env_int,
    env_list,
    env_rate,
    env_secret,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")) or BASE_DIR / "var")

DEBUG = env_bool("DEBUG", False)
# HTTPS-only cookies, HSTS and redirects; on by default outside debug.
HTTPS = env_bool("HTTPS", not DEBUG)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfiguredEnv(
            "OFFICEHUB_SECRET_KEY (or OFFICEHUB_SECRET_KEY_FILE) is required when OFFICEHUB_DEBUG is off"
        )
    SECRET_KEY = "debug-only-insecure-key-" + "x" * 40  # only reachable with DEBUG on
elif len(SECRET_KEY) < 50:
    raise ImproperlyConfiguredEnv("OFFICEHUB_SECRET_KEY must be at least 50 characters")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfiguredEnv("OFFICEHUB_ALLOWED_HOSTS is required when OFFICEHUB_DEBUG is off")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files (CSP 'self')
    "channels",
    "officehub",
    "officehub.directory",
    "officehub.accounts",
    "officehub.audit",
    "officehub.workbench",
    "officehub.indexing",
    "documents",
    "seals",
    "messaging",
    "search",
    "disclosure",
    "oversight",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost of ours: sees every answer below it (officehub/middleware.py).
    "officehub.middleware.ErrorResponseMiddleware",
    "officehub.middleware.ContentSecurityPolicyMiddleware",
    "officehub.middleware.RequestSanityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "officehub.urls"
ASGI_APPLICATION = "officehub.asgi.application"
WSGI_APPLICATION = "officehub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "officehub.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", None, schemes=("postgres", "postgresql", "sqlite"))
# scripts/run.sh sets EMBEDDED_FALLBACK when PostgreSQL could not be started on a
# newcomer's machine: the demo then runs on SQLite, in one process, and says so.
EMBEDDED_FALLBACK = env_bool("EMBEDDED_FALLBACK", False)
if DATABASE_URL is None:
    if not (DEBUG or EMBEDDED_FALLBACK):
        raise ImproperlyConfiguredEnv("OFFICEHUB_DATABASE_URL is required when OFFICEHUB_DEBUG is off")
    DATABASE_URL = f"sqlite:///{VAR_DIR / 'officehub.sqlite3'}"
if DATABASE_URL.startswith("sqlite") and not (DEBUG or EMBEDDED_FALLBACK):
    raise ImproperlyConfiguredEnv(
        "SQLite is only for a first run (OFFICEHUB_DEBUG or OFFICEHUB_EMBEDDED_FALLBACK); use PostgreSQL"
    )
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASE_URL.startswith("postgres"):
    # psycopg's pool, one per process: a request or socket call borrows a connection and
    # returns it when Django "closes" it, so no request pays for a new PostgreSQL session
    # (~35 ms here) and a process never holds more than DB_POOL_MAX. Health checks drop
    # connections the server closed (restart, idle timeout) before they are handed out.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN", 1, minimum=0),
        "max_size": env_int("DB_POOL_MAX", 12, minimum=1),
        # Waiting longer than this for a free connection is an error, not a hang.
        "timeout": env_int("DB_POOL_TIMEOUT", 10, minimum=1),
        "max_idle": 300,
        "name": "officehub",
    }
    # Each process names its connections (pg_stat_activity), see officehub.layers.process_name.
    DATABASES["default"]["OPTIONS"]["application_name"] = f"officehub-{os.getpid()}"
# Parallel developers and CI jobs may each need their own throw-away test database.
if env_str("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DB_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels and cache ---------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss", "unix"))
CHANNEL_LAYERS: dict[str, dict[str, Any]]
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub, one subscription connection per process (officehub/layers.py
            # says why, and what it adds to channels_redis).
            "BACKEND": "officehub.layers.OfficeHubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # The publish pool per process and event loop: bounded, waits for a
                        # free connection rather than failing.
                        "max_connections": env_int("REDIS_POOL_MAX", 20, minimum=2),
                        "health_check_interval": 15,
                    }
                ],
                # Frames queued per socket before a slow one is told to resync instead.
                "capacity": env_int("CHANNEL_CAPACITY", 1000, minimum=10),
                "prefix": env_str("CHANNEL_PREFIX", "officehub") or "officehub",
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CHANNEL_PREFIX", "officehub") or "officehub",
            # Bounded and health-checked like the channel layer's pool: a thread waits for
            # a free connection, and a connection Redis dropped is replaced, not raised.
            "OPTIONS": {
                "pool_class": "redis.BlockingConnectionPool",
                "max_connections": env_int("REDIS_POOL_MAX", 20, minimum=2),
                "timeout": 5,
                "health_check_interval": 15,
                "socket_keepalive": True,
                "client_name": f"officehub-{os.getpid()}",
            },
        }
    }
else:
    # One process only: fine for a first run, never for production.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Elasticsearch --------------------------------------------------------------------
ELASTICSEARCH_URL = env_url("ELASTICSEARCH_URL", None, schemes=("http", "https"))
ELASTICSEARCH_INDEX_PREFIX = env_str("ELASTICSEARCH_INDEX_PREFIX", "officehub") or "officehub"
ELASTICSEARCH_SHARDS = env_int("ELASTICSEARCH_SHARDS", 1, minimum=1)
ELASTICSEARCH_REPLICAS = env_int("ELASTICSEARCH_REPLICAS", 0, minimum=0)

# --- Seals ----------------------------------------------------------------------------
# The key-encryption key wraps every private key (AES-256-GCM). It is checked when a key
# is used, so a deployment without it still serves everything except sealing.
SEAL_KEK = env_secret("SEAL_KEK")
if SEAL_KEK is not None:
    try:
        if len(base64.b64decode(SEAL_KEK, validate=True)) != 32:
            raise ImproperlyConfiguredEnv("OFFICEHUB_SEAL_KEK must be 32 bytes, base64-encoded")
    except binascii.Error:
        raise ImproperlyConfiguredEnv("OFFICEHUB_SEAL_KEK is not valid base64") from None
# The address the public (recipients, citizens) reaches this deployment at: seal
# certificates name its CRL, and the 政务公开 portal links to it.
PUBLIC_URL = env_url("PUBLIC_URL", "http://127.0.0.1:8000", schemes=("http", "https")) or "http://127.0.0.1:8000"
SEAL_IMAGE_DIAMETER_MM = env_int("SEAL_IMAGE_DIAMETER_MM", 42, minimum=20, maximum=60)
# Django's error reports mask names with KEY/SECRET/..., not "KEK": this filter adds it.
DEFAULT_EXCEPTION_REPORTER_FILTER = "seals.reporting.KekSafeExceptionReporterFilter"
# Even with DEBUG on, a client never gets Django's traceback page (it shows settings and
# request META): the error page instead; tracebacks go to the log.
DEFAULT_EXCEPTION_REPORTER = "officehub.error_pages.PlainExceptionReporter"

# --- Documents ------------------------------------------------------------------------
# 条例 第三条: classified documents only on an approved secret network.
CLASSIFIED_NETWORK = env_bool("CLASSIFIED_NETWORK", False)
DOCX_IMPORT_MAX_BYTES = env_int("DOCX_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# DOCX -> PDF (LibreOffice, officehub/office/): one conversion may take at most this long.
PDF_TIMEOUT_SECONDS = env_int("PDF_TIMEOUT_SECONDS", 60, minimum=5)
# 催办: an overdue step is reminded again at most once per this many seconds.
DOCUMENT_REMIND_INTERVAL_SECONDS = env_int("DOCUMENT_REMIND_INTERVAL_SECONDS", 3600, minimum=60)

# --- Messaging and meetings -----------------------------------------------------------
MESSAGE_RECALL_SECONDS = env_int("MESSAGE_RECALL_SECONDS", 120, minimum=0)
DING_RENOTIFY_SECONDS = env_int("DING_RENOTIFY_SECONDS", 300, minimum=10)
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# Per user: a burst of MESSAGE_BURST sends at once, MESSAGE_RATE_PER_MINUTE in the long run.
MESSAGE_RATE_PER_MINUTE = env_int("MESSAGE_RATE_PER_MINUTE", 120, minimum=1)
MESSAGE_BURST = env_int("MESSAGE_BURST", 60, minimum=1)
MEETING_CAPACITY = env_int("MEETING_CAPACITY", 6, minimum=2, maximum=50)
# Every open socket re-checks its session (exists, user active, password unchanged) and its
# memberships this often, in case the on-commit push that ends it was lost.
SOCKET_REVALIDATE_SECONDS = env_int("SOCKET_REVALIDATE_SECONDS", 60, minimum=1)
try:
    ICE_SERVERS = json.loads(env_str("ICE_SERVERS", '[{"urls": ["stun:stun.l.google.com:19302"]}]') or "[]")
except json.JSONDecodeError as exc:
    raise ImproperlyConfiguredEnv(f"OFFICEHUB_ICE_SERVERS is not valid JSON: {exc}") from None
if not isinstance(ICE_SERVERS, list):
    raise ImproperlyConfiguredEnv("OFFICEHUB_ICE_SERVERS must be a JSON list")

# --- 政务公开 (disclosure/) ----------------------------------------------------------------
# Working days for statutory deadlines (依申请公开: 20 working days after registration,
# extendable once by 20): Monday to Friday, minus OFFICEHUB_HOLIDAYS, plus
# OFFICEHUB_MAKEUP_WORKDAYS (weekend days worked in exchange, 调休上班) — both
# comma-separated ISO dates, copied from the State Council's yearly holiday notice.
HOLIDAYS = env_dates("HOLIDAYS")
MAKEUP_WORKDAYS = env_dates("MAKEUP_WORKDAYS")
if set(HOLIDAYS) & set(MAKEUP_WORKDAYS):
    raise ImproperlyConfiguredEnv("OFFICEHUB_HOLIDAYS and OFFICEHUB_MAKEUP_WORKDAYS share a date")
# Handlers are reminded this many working days before a request's deadline (and again
# every DOCUMENT_REMIND_INTERVAL_SECONDS once it is overdue).
DISCLOSURE_REMIND_WORKING_DAYS = env_int("DISCLOSURE_REMIND_WORKING_DAYS", 3, minimum=0, maximum=19)
DISCLOSURE_REPLY_FILE_MAX_BYTES = env_int("DISCLOSURE_REPLY_FILE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Public pages: how long browsers and proxies may reuse a portal page (Cache-Control
# max-age; they revalidate with ETag / Last-Modified after that).
PORTAL_CACHE_SECONDS = env_int("PORTAL_CACHE_SECONDS", 60, minimum=0, maximum=3600)
# Search answers shared by every visitor (Redis), keyed by the portal's last change so a
# publication or withdrawal is seen at once; 0 turns the shared cache off.
PORTAL_RESULT_CACHE_SECONDS = env_int("PORTAL_RESULT_CACHE_SECONDS", 300, minimum=0, maximum=86400)
# Token buckets per client address (officehub/ratelimit.py): portal searches, filed
# requests (CAPTCHA-free, so this is the brake) and tracking-number lookups.
PORTAL_SEARCH_RATE = env_rate("PORTAL_SEARCH_RATE", "120/min burst 60")
DISCLOSURE_REQUEST_RATE = env_rate("DISCLOSURE_REQUEST_RATE", "5/hour burst 3")
DISCLOSURE_TRACK_RATE = env_rate("DISCLOSURE_TRACK_RATE", "30/min burst 20")

# --- Background worker (manage.py run_worker): dotted path, interval in seconds -------
WORKER_JOBS: list[tuple[str, float]] = [
    ("documents.jobs.remind_overdue", env_int("WORKER_REMIND_SECONDS", 60, minimum=1)),
    ("messaging.chat.jobs.ding_renotify_due", env_int("WORKER_DING_SECONDS", 15, minimum=1)),
    ("messaging.chat.jobs.department_groups_sync_all", env_int("WORKER_DEPARTMENT_GROUPS_SECONDS", 600, minimum=10)),
    ("messaging.meetings.jobs.meeting_remind_upcoming", env_int("WORKER_MEETING_SECONDS", 30, minimum=1)),
    ("search.services.index_drain_backlog", env_int("WORKER_INDEX_SECONDS", 5, minimum=1)),
    ("disclosure.jobs.portal_drain_backlog", env_int("WORKER_INDEX_SECONDS", 5, minimum=1)),
    ("disclosure.jobs.remind_requests", env_int("WORKER_REMIND_SECONDS", 60, minimum=1)),
    # 全局搜索: messages and 公文 (officehub.indexing outbox) — often, so a sent message is found within seconds.
    ("search.services.change_drain_backlog", env_int("WORKER_CHANGE_INDEX_SECONDS", 2, minimum=1)),
]

# --- Hooks (officehub/hooks.py): event -> followers by dotted path, run in the transaction
# of the change. The 政务公开 portal publishes a 主动公开 document when it is distributed.
HOOKS: dict[str, list[str]] = {
    "document.distributed": ["disclosure.services.publication_on_distribute"],
}

# --- 督办 dashboard (oversight/) ----------------------------------------------------------
# The 政务公开 portal's selector for 依申请公开 requests by state and deadline (dotted path;
# the signature is in oversight/disclosure.py). Empty: the dashboard's panel says 未启用.
OVERSIGHT_DISCLOSURE_SOURCE = "disclosure.selectors.disclosure_request_summary"

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "directory.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workbench"
LOGOUT_REDIRECT_URL = "login"
# Lockout (officehub/accounts/services.py): failures per (username, client IP), and per
# client IP across usernames (password spraying), within LOGIN_LOCKOUT_SECONDS.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_IP_FAILURE_LIMIT = env_int("LOGIN_IP_FAILURE_LIMIT", 20, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
# Sessions read from the cache (Redis) and written through to the database: a page view
# or socket connect does not pay a session query, and a logout deletes both.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- HTTPS hardening (manage.py check --deploy) ---------------------------------------
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# A front proxy terminates TLS and appends the client address to X-Forwarded-For; only
# then do X-Forwarded-Proto and X-Forwarded-For mean anything.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- DRF ------------------------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "officehub.accounts.authentication.OfficeHubTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "officehub.errors.api_exception_handler",
    # JSON is depth-bounded and NUL-free before any view sees it (officehub/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "officehub.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # Throttles key anonymous callers by address: without a proxy X-Forwarded-For is the
    # caller's own words (DRF would use it whole), behind ours its last entry counts.
    "NUM_PROXIES": 1 if BEHIND_PROXY else 0,
    # Token buckets (officehub/ratelimit.py): one Redis round trip per request, bursts
    # allowed up to the per-minute count, retry_after exact.
    "DEFAULT_THROTTLE_CLASSES": [
        "officehub.ratelimit.UserBucketThrottle",
        "officehub.ratelimit.AnonBucketThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_str("API_RATE_USER", "2000/min"),
        "anon": env_str("API_RATE_ANON", "60/min"),
        "login": env_str("API_RATE_LOGIN", "20/min"),
        # The public 验章 API and page, per client address.
        "verify": env_str("API_RATE_VERIFY", "30/min burst 10"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OfficeHub API",
    "DESCRIPTION": "公文流转、电子印章、即时消息、会议与档案检索",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- Language, time, static -----------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("STATIC_MANIFEST", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or not env_bool("STATIC_MANIFEST", True)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "jieba": {"level": "WARNING"}},
}
