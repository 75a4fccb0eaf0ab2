# The playground as one container: Daphne on port 8000, SQLite in /data unless DATABASE_URL
# says otherwise, in-memory channel layer unless REDIS_URL is set. Static files (htmx, plotly.js)
# are collected and compressed at build time and served by WhiteNoise; the engine is compiled.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The engine compiled by mypyc (tools/compile_engine.py): gcc for the build only.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && python tools/compile_engine.py \
    && python -c 'import simcore, sys; sys.exit(simcore.ENGINE != "compiled")' \
    && rm -rf .artifacts \
    && apt-get purge -y --auto-remove gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
ENV DJANGO_STATIC_COLLECTED=1 \
    PLAYGROUND_RUN_PREWARM=1 \
    DJANGO_ALLOWED_HOSTS="*" \
    DATABASE_URL=sqlite:////data/db.sqlite3
RUN python manage.py collectstatic --noinput --verbosity 0 \
    && useradd --system --no-create-home app \
    && mkdir /data && chown app /data

USER app
EXPOSE 8000
VOLUME /data
CMD ["sh", "-c", "python manage.py migrate --noinput && exec daphne -e tcp:port=8000:interface=0.0.0.0:backlog=1024 playground.asgi:application"]
