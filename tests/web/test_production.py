"""Production mode (DJANGO_PRODUCTION=1): a strong DJANGO_SECRET_KEY or no start, and
`manage.py check --deploy` clean. Outside it, `make run`'s .secret_key or a random key."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from playground.settings import csp_sources, env_origins, secret_key

STRONG_KEY = secrets.token_urlsafe(50)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PLAYGROUND_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_check_deploy_is_clean() -> None:
    done = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_PRODUCTION="1", DJANGO_SECRET_KEY=STRONG_KEY,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_without_production_mode_check_deploy_does_warn() -> None:
    """So the clean run above is the settings' doing, not a check that never fires."""
    done = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    assert "security.W004" in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({}, "DJANGO_SECRET_KEY is required"),
        ({"DJANGO_SECRET_KEY": "short"}, "too weak"),
        ({"DJANGO_SECRET_KEY": "a" * 60}, "too weak"),
        ({"DJANGO_SECRET_KEY": STRONG_KEY, "DJANGO_DEBUG": "1"}, "DJANGO_DEBUG=1 is refused"),
    ],
)
def test_production_refuses_to_start_without_a_strong_key(
    env: dict[str, str], problem: str
) -> None:
    done = _manage("check", DJANGO_PRODUCTION="1", **env)
    assert done.returncode != 0
    assert problem in done.stderr


def test_outside_production_the_kept_key_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    key_file = tmp_path / ".secret_key"
    key_file.write_text(STRONG_KEY + "\n")
    monkeypatch.setenv("DJANGO_SECRET_KEY_FILE", str(key_file))
    assert secret_key(production=False) == STRONG_KEY
    monkeypatch.setenv("DJANGO_SECRET_KEY", "from-the-environment")
    assert secret_key(production=False) == "from-the-environment"


def test_without_any_key_each_process_makes_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DJANGO_SECRET_KEY", raising=False)
    monkeypatch.setenv("DJANGO_SECRET_KEY_FILE", str(tmp_path / "absent"))
    first, second = secret_key(production=False), secret_key(production=False)
    assert first != second
    assert len(first) >= 50
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY is required"):
        secret_key(production=True)


def test_make_run_keeps_its_key_out_of_git() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".secret_key"], cwd=settings.BASE_DIR, check=False
    )
    assert ignored.returncode == 0


def test_frame_ancestors_and_origins_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANCESTORS", "'self', https://wiki.example")
    assert csp_sources("ANCESTORS", "*") == "'self' https://wiki.example"
    monkeypatch.setenv("ANCESTORS", "https://a.example; script-src *")
    with pytest.raises(ImproperlyConfigured, match="ANCESTORS"):
        csp_sources("ANCESTORS", "*")
    monkeypatch.setenv("ORIGINS", "https://play.example, http://localhost:8000")
    assert env_origins("ORIGINS") == ["https://play.example", "http://localhost:8000"]
    monkeypatch.setenv("ORIGINS", "play.example")
    with pytest.raises(ImproperlyConfigured, match="ORIGINS"):
        env_origins("ORIGINS")
