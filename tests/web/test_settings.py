"""The environment helpers refuse bad values by name instead of guessing."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from playground.settings import BASE_DIR, database_from_url, env_bool, env_int, env_list


def test_env_bool_reads_the_usual_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", True) is False
    monkeypatch.delenv("FLAG")
    assert env_bool("FLAG", True) is True


def test_env_bool_names_the_variable_on_a_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG='maybe'"):
        env_bool("DJANGO_DEBUG", False)


def test_env_int_checks_type_and_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("N", "12")
    assert env_int("N", 1) == 12
    monkeypatch.setenv("N", "twelve")
    with pytest.raises(ImproperlyConfigured, match="N='twelve': expected an integer"):
        env_int("N", 1)
    monkeypatch.setenv("N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 5, minimum=1)


def test_env_list_splits_on_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_database_url_sqlite_relative_and_absolute() -> None:
    assert database_from_url("sqlite:///db.sqlite3")["NAME"] == BASE_DIR / "db.sqlite3"
    assert database_from_url("sqlite:////data/db.sqlite3")["NAME"] == Path("/data/db.sqlite3")


def test_database_url_postgres() -> None:
    db = database_from_url("postgres://user:p%40ss@db.internal:5433/playground")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("playground", "user", "p@ss")
    assert (db["HOST"], db["PORT"]) == ("db.internal", "5433")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://x/y", "not supported"),
        ("postgres://host:port/db", "port is not a number"),
        ("postgres://host/", "no database name"),
        ("sqlite:///", "no database file"),
    ],
)
def test_database_url_errors_name_the_variable(url: str, problem: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL") as excinfo:
        database_from_url(url)
    assert problem in str(excinfo.value)
