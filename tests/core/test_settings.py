"""Settings come from OFFICEHUB_* variables through typed helpers that fail loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from officehub.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_url,
)

ROOT = Path(__file__).resolve().parents[2]


def test_bool_accepts_the_usual_spellings() -> None:
    assert env_bool("X", False, environ={"OFFICEHUB_X": "yes"}) is True
    assert env_bool("X", True, environ={"OFFICEHUB_X": "0"}) is False
    assert env_bool("X", True, environ={}) is True


def test_bool_refuses_a_typo_instead_of_guessing() -> None:
    with pytest.raises(ImproperlyConfiguredEnv, match="OFFICEHUB_X='ture' is not a boolean"):
        env_bool("X", False, environ={"OFFICEHUB_X": "ture"})


def test_int_refuses_text_and_out_of_range() -> None:
    with pytest.raises(ImproperlyConfiguredEnv, match="not an integer"):
        env_int("N", 1, environ={"OFFICEHUB_N": "5m"})
    with pytest.raises(ImproperlyConfiguredEnv, match="below the minimum 2"):
        env_int("N", 3, minimum=2, environ={"OFFICEHUB_N": "1"})


def test_list_refuses_empty_items() -> None:
    assert env_list("L", [], environ={"OFFICEHUB_L": "a.gov.cn, b.gov.cn"}) == ["a.gov.cn", "b.gov.cn"]
    with pytest.raises(ImproperlyConfiguredEnv, match="empty item"):
        env_list("L", [], environ={"OFFICEHUB_L": "a.gov.cn,,b"})


def test_url_checks_the_scheme() -> None:
    with pytest.raises(ImproperlyConfiguredEnv, match="scheme postgres"):
        env_url("DATABASE_URL", None, schemes=("postgres",), environ={"OFFICEHUB_DATABASE_URL": "mysql://x/y"})


def test_secret_reads_the_file_variant(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret-from-file\n")
    assert env_secret("KEY", environ={"OFFICEHUB_KEY_FILE": str(secret)}) == "s3cret-from-file"


def test_secret_refuses_both_forms_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfiguredEnv, match="set only one"):
        env_secret("KEY", environ={"OFFICEHUB_KEY": "a", "OFFICEHUB_KEY_FILE": "/x"})
    with pytest.raises(ImproperlyConfiguredEnv, match="unreadable file"):
        env_secret("KEY", environ={"OFFICEHUB_KEY_FILE": str(tmp_path / "missing")})


def _production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("OFFICEHUB_") and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        {
            "OFFICEHUB_DEBUG": "false",
            "OFFICEHUB_SECRET_KEY": "p" * 20 + "-production-secret-key-" + "q" * 20,
            "OFFICEHUB_ALLOWED_HOSTS": "oa.example.gov.cn",
            "OFFICEHUB_DATABASE_URL": os.environ.get(
                "OFFICEHUB_DATABASE_URL", "postgres://officehub:officehub@127.0.0.1:5432/officehub"
            ),
            "DJANGO_SETTINGS_MODULE": "officehub.settings",
        }
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value != "<unset>"}


def _import_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import officehub.settings"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"OFFICEHUB_SECRET_KEY": "<unset>"}, "OFFICEHUB_SECRET_KEY (or OFFICEHUB_SECRET_KEY_FILE) is required"),
        ({"OFFICEHUB_SECRET_KEY": "short"}, "at least 50 characters"),
        ({"OFFICEHUB_ALLOWED_HOSTS": "<unset>"}, "OFFICEHUB_ALLOWED_HOSTS is required"),
        ({"OFFICEHUB_DATABASE_URL": "<unset>"}, "OFFICEHUB_DATABASE_URL is required"),
        ({"OFFICEHUB_DATABASE_URL": "sqlite:///tmp/x.sqlite3"}, "SQLite is only for a first run"),
        ({"OFFICEHUB_DEBUG": "maybe"}, "is not a boolean"),
        ({"OFFICEHUB_SEAL_KEK": "not base64!"}, "OFFICEHUB_SEAL_KEK is not valid base64"),
        ({"OFFICEHUB_SEAL_KEK": "c2hvcnQ="}, "must be 32 bytes"),
        ({"OFFICEHUB_ICE_SERVERS": "[{"}, "OFFICEHUB_ICE_SERVERS is not valid JSON"),
        ({"OFFICEHUB_REDIS_URL": "http://localhost"}, "OFFICEHUB_REDIS_URL"),
    ],
)
def test_production_settings_refuse_bad_configuration(overrides: dict[str, str], message: str) -> None:
    result = _import_settings(_production_env(**overrides))
    assert result.returncode != 0
    assert message in result.stderr


def test_first_run_falls_back_to_sqlite_and_in_memory_layer(tmp_path: Path) -> None:
    env = _production_env(
        OFFICEHUB_DEBUG="true",
        OFFICEHUB_DATABASE_URL="<unset>",
        OFFICEHUB_SECRET_KEY="<unset>",
        OFFICEHUB_REDIS_URL="<unset>",
        OFFICEHUB_VAR_DIR=str(tmp_path),
    )
    code = (
        "from django.conf import settings; import django; django.setup();"
        "print(settings.DATABASES['default']['ENGINE']);"
        "print(settings.CHANNEL_LAYERS['default']['BACKEND'])"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "django.db.backends.sqlite3" in result.stdout
    assert "InMemoryChannelLayer" in result.stdout


def test_check_deploy_passes_with_production_settings() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(OFFICEHUB_HTTPS="true"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
