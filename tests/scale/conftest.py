"""A real scale-out on loopback: redis-server, PostgreSQL and two Daphne processes.

Debian's `redis-server` and `postgresql` (installed by `make test` like Chromium); each
is started here on a free port in a temporary directory and stopped after the session.
PostgreSQL refuses to run as root: as root, its directory is given to the `postgres`
user and its commands run through `runuser`. The two Daphne processes are plain
subprocesses (`python -m daphne`, as `make run` starts one) sharing that Redis and that
database, so nothing is shared between them but what a deployment would share.

These tests are their own pytest run (`make test`): they need no Django test database.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_for(condition: object, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Polls `condition()` until true; fails after START_SECONDS or if `process` exits."""
    deadline = time.monotonic() + START_SECONDS
    while not condition():  # type: ignore[operator]
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {START_SECONDS} s")
        time.sleep(0.1)  # a server starting in another process: nothing else to wait on


def listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    process = subprocess.Popen(
        [
            server,
            "--bind",
            HOST,
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            "256mb",
            "--maxmemory-policy",
            "allkeys-lru",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://{HOST}:{port}/0"
    client = redis.Redis.from_url(url)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_for(answers, "redis-server", process)
        yield url
    finally:
        client.close()
        stop(process)


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
    return Path(found[-1]).parent


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    bin_dir, port = _postgres_bin(), free_port()
    home = Path(tempfile.mkdtemp(prefix="playground-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres will not run as root
        shutil.chown(home, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log = home / "data", home / "log"

    def pg(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, stdout=subprocess.DEVNULL)

    pg(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "playground", "-E", "UTF8")
    options = f"-p {port} -k {home} -c listen_addresses={HOST}"
    pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    try:
        pg(str(bin_dir / "createdb"), "-h", HOST, "-p", str(port), "-U", "playground", "playground")
        yield f"postgres://playground@{HOST}:{port}/playground"
    finally:
        pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class Servers:
    urls: list[str]
    redis_url: str
    database_url: str
    logs: list[Path]


@pytest.fixture(scope="session")
def servers(redis_url: str, postgres_url: str) -> Iterator[Servers]:
    """Two Daphne processes on one Redis and one PostgreSQL, as behind a load balancer."""
    tmp = Path(tempfile.mkdtemp(prefix="playground-scale-"))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "playground.settings",
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECRET_KEY_FILE": str(tmp / "no-key"),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    processes, urls, logs = [], [], []
    try:
        for name in ("a", "b"):
            port = free_port()
            log = tmp / f"daphne-{name}.log"
            with open(log, "wb") as out:
                processes.append(
                    subprocess.Popen(
                        [
                            python,
                            "-m",
                            "daphne",
                            "-b",
                            HOST,
                            "-p",
                            str(port),
                            "playground.asgi:application",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            urls.append(f"http://{HOST}:{port}")
            logs.append(log)
            wait_for(lambda port=port: listening(port), f"daphne {name}", processes[-1])
        yield Servers(urls, redis_url, postgres_url, logs)
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(tmp, ignore_errors=True)
