# nongsan-bot: one process serving Telegram and/or Zalo (polling, or webhooks when PUBLIC_URL is set).
# Several processes may share one PostgreSQL database (see compose.yaml and README.md).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# Pinned dependencies with their hashes first (make lock), so code changes do not reinstall them
# and every build installs exactly what the tests ran against.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY bot bot
COPY storage storage
COPY locales locales
COPY scripts scripts
COPY alembic.ini pyproject.toml README.md ./
# Catalogs compiled at build time: the image never needs Babel's tools at run time.
RUN python scripts/i18n.py compile

RUN useradd --create-home --uid 10001 nongsan && mkdir -p /app/data && chown nongsan /app/data
USER 10001
# The parser's place-name indexes, built once into the user's cache (bot/parsing/index_cache.py)
# so a new container parses its first message without building them.
RUN python -m bot parse "bán 2 tấn na ở Chi Lăng, Lạng Sơn" > /dev/null

ENV DATABASE_URL=sqlite+aiosqlite:////app/data/nongsan.db \
    DATA_DIR=/app/data \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
VOLUME ["/app/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"

CMD ["python", "-m", "bot"]
