# One-command set-up: `make run` serves the playground, `make test` runs every test.
# The venv is updated only when a requirements file changes, and made again when the
# interpreter it was made with is no longer $(PYTHON) (stamp files below).

# Debian's /usr/bin/python3.11 when there is one: CPython linked into the executable and
# built for speed, it runs the engine ~20 % faster than pyenv's default shared, unoptimised
# build (docs/architecture.md, "The interpreter"). Any Python 3.11 works: PYTHON=python3.11.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) python3)
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.stamp-runtime
DEV_STAMP := $(VENV)/.stamp-dev
HOST ?= 127.0.0.1
PORT ?= 8000
# Daphne's listen queue: Twisted's default, 50, drops a room's connections arriving at once
BACKLOG ?= 1024

.PHONY: venv dev compile run test bench load lint mutate clean chromium scale-servers FORCE

venv: $(RUNTIME_STAMP)

dev: $(DEV_STAMP)

# A venv made by another interpreter than $(PYTHON) is made again (its compiled engine too).
$(RUNTIME_STAMP): requirements.txt $(VENV)/.interpreter
	test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV) \
		|| (apt-get update -q && apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV))
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.interpreter: FORCE
	@want=$$($(PYTHON) -c 'import os, sys; print(os.path.realpath(sys.executable))'); \
	have=$$(cat $@ 2>/dev/null); \
	if [ "$$want" != "$$have" ]; then \
		if [ -n "$$have" ] || [ -e $(VENV) ]; then echo "rebuilding $(VENV) for $$want"; rm -rf $(VENV); fi; \
		mkdir -p $(VENV) && echo "$$want" > $@; \
	fi

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

# The engine compiled by mypyc from its typed sources (tools/compile_engine.py; needs gcc and
# Python's headers): rebuilt when an engine source changes. simcore runs the sources instead
# whenever the build is stale (simcore/_engine.py), so a forgotten `make compile` is slower,
# never wrong.
ENGINE_SOURCES := $(wildcard $(addprefix simcore/,$(addsuffix /*.py,kernel broker producer consumer groups run report)))
COMPILED := simcore/compiled.json

compile: $(COMPILED)

$(COMPILED): $(RUNTIME_STAMP) $(ENGINE_SOURCES) tools/compile_engine.py
	@command -v gcc >/dev/null || (apt-get update -q && apt-get install -y -q gcc libc6-dev)
	@$(BIN)/python -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
		|| (apt-get update -q && apt-get install -y -q python3-dev)
	$(BIN)/python tools/compile_engine.py

# DJANGO_STATIC_COLLECTED=1: collect into hashed, compressed files and serve those.
run: export DJANGO_STATIC_COLLECTED = 1
# the run workers start with the server, not on the first visitor's run (runner.prewarm)
run: export PLAYGROUND_RUN_PREWARM = 1
run: venv compile .secret_key
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/daphne -e tcp:port=$(PORT):interface=$(HOST):backlog=$(BACKLOG) playground.asgi:application

# A secret key made once and kept (git-ignored, readable by its owner only); settings read
# it when DJANGO_SECRET_KEY is not set.
.secret_key:
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

# Debian's Chromium drives the browser tests (Playwright's own download is not reachable).
chromium:
	@test -x /usr/bin/chromium || (apt-get update -q && apt-get install -y -q chromium)

# Four pytest runs: browser tests must come after every asyncio test (stack-notes, trap 2);
# tests/oracle runs the real librdkafka client against simcore (docs/oracle.md); tests/scale
# runs two Daphne processes on a real Redis and PostgreSQL (no Django test database).
# The first two runs test the compiled engine (it must be current: the check fails otherwise);
# tests that watch the engine's internals from outside (patched methods, which compiled
# classes do not call back), and every built-in's golden digest again, run on the sources.
test: dev chromium scale-servers compile
	$(BIN)/python -c 'import simcore, sys; print("simcore engine:", simcore.ENGINE, simcore.ENGINE_NOTE); sys.exit(simcore.ENGINE != "compiled")'
	$(BIN)/pytest -m "not engine_internals" $(wildcard tests/simcore tests/web tests/bench)
	SIMCORE_SOURCE=1 $(BIN)/pytest -m "engine_internals or both_engines" tests/simcore
	$(BIN)/pytest tests/browser
	$(BIN)/pytest tests/oracle
	$(BIN)/pytest tests/scale

# Debian's Redis and PostgreSQL for tests/scale (two Daphne processes sharing them); the
# tests start their own servers on loopback ports, nothing runs as a system service.
scale-servers:
	@test -x /usr/bin/redis-server || (apt-get update -q && apt-get install -y -q redis-server)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q postgresql)

# Load benchmark (bounded, loopback only, stops by itself): prints a table (docs/load.md).
load: dev
	$(BIN)/python bench/load.py
	$(BIN)/python bench/room_load.py

bench: dev chromium compile
	$(BIN)/python bench/run.py

# Mutation testing of the modules listed in pyproject.toml's [tool.mutmut], bounded by
# MUTATE_TIMEOUT seconds; prints the score and the surviving mutants.
mutate: export SIMCORE_SOURCE = 1
mutate: dev
	$(BIN)/python bench/mutation.py

lint: dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy simcore playground
	$(BIN)/pytest -q -p no:cacheprovider tests/simcore/test_layering.py

clean:
	rm -rf $(VENV) .staticfiles .pytest_cache .mypy_cache .ruff_cache .artifacts mutants $(COMPILED)
	find simcore -name "*.so" -delete; rm -f simcore_engine__mypyc*.so
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
