"""Settings for the playground, read from the environment through strict helpers.

A bad value raises ImproperlyConfigured naming the variable, instead of being guessed at.
Defaults give the embedded set-up (SQLite, in-memory channel layer) so `make run` needs no
configuration; DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis for scale-out.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

from playground.rates import Rate

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of 1/0, true/false, yes/no, on/off")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected an integer") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r}: must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_rate(name: str, default: str) -> Rate:
    return Rate.parse(name, env_str(name, default))


def csp_sources(name: str, default: str) -> str:
    """A CSP source list (`*`, `'self'`, `https://a.example`, …), space or comma separated."""
    sources = env_str(name, default).replace(",", " ").split()
    for source in sources:
        if any(c in source for c in ";'\"") and source not in ("'self'", "'none'"):
            raise ImproperlyConfigured(f"{name}: {source!r} is not a CSP source")
    if not sources:
        raise ImproperlyConfigured(f"{name} is empty: give 'none' to allow no framing")
    return " ".join(sources)


def env_origins(name: str) -> list[str]:
    """Comma-separated origins, each scheme://host[:port] with http or https."""
    origins = env_list(name, [])
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ImproperlyConfigured(
                f"{name}: {origin!r} is not an origin like https://host:port"
            )
    return origins


def database_from_url(url: str) -> dict[str, object]:
    """`sqlite:///relative.db`, `sqlite:////absolute.db` or `postgres://user:pw@host:port/db`."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise ImproperlyConfigured(f"DATABASE_URL={url!r}: no database file after sqlite:///")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / path,
            # Concurrent writers: WAL lets readers go on during a write; IMMEDIATE takes
            # the write lock at BEGIN, so two transactions never deadlock upgrading a read
            # lock (which SQLite answers "database is locked" at once, timeout or not);
            # `timeout` is how long a writer waits for the lock.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
                "timeout": 20,
            },
        }
    if parts.scheme in ("postgres", "postgresql"):
        name = parts.path.lstrip("/")
        if not name:
            raise ImproperlyConfigured(f"DATABASE_URL: no database name in {parts.scheme}://…")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured("DATABASE_URL: the port is not a number") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(name),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            # Daphne runs each sync view in a thread of its own: a kept connection per
            # thread that ever ran a query exhausted max_connections under load.
            "CONN_MAX_AGE": 0,
            # ... and one connection per concurrent request did too (200 writers on two
            # processes, PostgreSQL's default max_connections=100): a pool per process,
            # at most PLAYGROUND_DB_POOL_SIZE connections; a request beyond waits for one.
            "OPTIONS": {
                "pool": {
                    "min_size": 1,
                    "max_size": env_int("PLAYGROUND_DB_POOL_SIZE", 20, minimum=1),
                    "timeout": 30,
                }
            },
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported: use sqlite:/// or postgres://"
    )


def secret_key(production: bool) -> str:
    """DJANGO_SECRET_KEY. Production mode refuses to start without a strong one; otherwise
    the key `make run` keeps in DJANGO_SECRET_KEY_FILE (.secret_key), else a random key
    per process (nothing the playground signs outlives a process: no sessions, no logins)."""
    key = os.environ.get("DJANGO_SECRET_KEY", "").strip()
    if production:
        if not key:
            raise ImproperlyConfigured(
                "DJANGO_SECRET_KEY is required with DJANGO_PRODUCTION=1: generate one with"
                " python -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )
        if len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure"):
            raise ImproperlyConfigured(
                "DJANGO_SECRET_KEY is too weak for DJANGO_PRODUCTION=1: at least 50"
                " characters, 5 of them different"
            )
        return key
    if key:
        return key
    path = Path(env_str("DJANGO_SECRET_KEY_FILE", str(BASE_DIR / ".secret_key")))
    stored = path.read_text().strip() if path.is_file() else ""
    return stored or get_random_secret_key()


# Production mode: a deployment behind HTTPS. It needs DJANGO_SECRET_KEY, refuses
# DJANGO_DEBUG=1, and turns on the HTTPS settings below (each can be switched off), so
# that `manage.py check --deploy` is clean.
PRODUCTION = env_bool("DJANGO_PRODUCTION", False)
DEBUG = env_bool("DJANGO_DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG=1 is refused with DJANGO_PRODUCTION=1")
SECRET_KEY = secret_key(PRODUCTION)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", PRODUCTION)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):  # only behind a proxy that sets it
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The HSTS preload list is a commitment for a whole domain that its owner makes
# (hstspreload.org), so the `preload` directive is opt-in and its warning silenced.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Headers (playground.security): who may frame /embed/ (a CSP source list; default any
# site), and which page origins may open the websocket (default: this site's own, by
# scheme, host and port — playground.guards).
EMBED_FRAME_ANCESTORS = csp_sources("PLAYGROUND_EMBED_FRAME_ANCESTORS", "*")
WS_ALLOWED_ORIGINS = env_origins("PLAYGROUND_WS_ALLOWED_ORIGINS")
# The most any request may send (bytes received, chunked or not; playground.guards); a
# scenario itself is at most 100 kB, form-encoded up to about three times that.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves ASGI, websockets included
    "django.contrib.staticfiles",
    "django_htmx",
    "channels",
    "playground",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "playground.admission.AdmissionMiddleware",  # edit rate limit; busy → 503/429
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "playground.security.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
X_FRAME_OPTIONS = "DENY"  # only /embed/ opts out (xframe_options_exempt; see security.py)

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": ["django.template.context_processors.request"],
        },
    }
]

DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL", "sqlite:///db.sqlite3")),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # socket_timeout None: redis-py 8 reads with a 5 s timeout by default, which
            # ends channels_redis's blocking BZPOPMIN (5 s) in a TimeoutError that closes
            # every idle consumer (django/channels_redis#422, redis/redis-py#4091)
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Static files: htmx comes with django-htmx; our own files and the vendored plotly.js
# partial bundle (static/vendor/README.md) live in static/. After `collectstatic`
# (make run, Dockerfile) WhiteNoise serves compressed files under hashed names, cached
# forever; without it (tests, development) it serves them straight from the finders.
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / ".staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STATIC_COLLECTED = env_bool("DJANGO_STATIC_COLLECTED", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # hashed, compressed, and the ES modules' imports rewritten to the hashed names
        "BACKEND": "playground.static_storage.ModuleManifestStaticFilesStorage"
        if STATIC_COLLECTED
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_COLLECTED

# Simulation limits, per run (playground.runner).
RUN_MAX_EVENTS = env_int("PLAYGROUND_RUN_MAX_EVENTS", 2_000_000, minimum=1)
RUN_MAX_SECONDS = env_int("PLAYGROUND_RUN_MAX_SECONDS", 10, minimum=1)
RUN_WORKERS = env_int("PLAYGROUND_RUN_WORKERS", 2, minimum=1)
# Start the run workers with the server (runner.prewarm), not on the first visitor's run
# (0.6-1.5 s of process start and imports on that page). Off by default so that importing
# playground.asgi (the tests do) starts no processes; `make run`, the Dockerfile and
# compose.yaml turn it on.
RUN_PREWARM = env_bool("PLAYGROUND_RUN_PREWARM", False)
# A worker's data, per run. 768: issue 16's production topic (1.2 M keyed records a minute
# over 60 partitions, RF 3, 6 consumers) runs whole in the web — 393 MB of data simulated,
# 541 MB described, where the run stops at 499 (jobs: MEMORY_STOP); at 512 it stopped at 50 s.
RUN_MAX_MB = env_int("PLAYGROUND_RUN_MAX_MB", 768, minimum=64)

# Admission and streaming (playground.runner, .ratelimit, .consumers; numbers and reasons
# in docs/architecture.md). Rates are N/S: N at once, N more every S seconds.
RUN_QUEUE = env_int("PLAYGROUND_RUN_QUEUE", 8)  # jobs waiting beyond those running, per lane
# workers that only small runs may use (playground/cost.py): heavy runs get the others, or 1
RUN_SMALL_WORKERS = env_int("PLAYGROUND_RUN_SMALL_WORKERS", 1, minimum=0)
RUNS_PER_CLIENT = env_int("PLAYGROUND_RUNS_PER_CLIENT", 1, minimum=1)  # waiting or running
RATE_RUNS = env_rate("PLAYGROUND_RATE_RUNS", "20/60")  # new simulations per address
RATE_EDITS = env_rate("PLAYGROUND_RATE_EDITS", "30/60")  # saved edits per address
RATE_WS_MESSAGES = env_rate("PLAYGROUND_RATE_WS_MESSAGES", "60/10")  # per connection
# per address, per process; a room page's two sockets count once (connections.py)
WS_PER_CLIENT = env_int("PLAYGROUND_WS_PER_CLIENT", 16, minimum=1)
STREAM_CACHE_BYTES = env_int("PLAYGROUND_STREAM_CACHE_BYTES", 256_000_000, minimum=0)
STREAM_WINDOW = env_int("PLAYGROUND_STREAM_WINDOW", 4, minimum=1)  # chunks not acknowledged
STREAM_ACK_SECONDS = env_int("PLAYGROUND_STREAM_ACK_SECONDS", 30, minimum=1)
# A workshop room ends after this long without an instructor action or an answer
# (playground.rooms); its state is in the database until then, so a restart keeps it.
ROOM_IDLE_MINUTES = env_int("PLAYGROUND_ROOM_IDLE_MINUTES", 240, minimum=1)

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"
USE_I18N = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "WARNING")},
}
