# nongsan-bot: one process serving Telegram (polling, or webhook when PUBLIC_URL is set).
# Several of them on one PostgreSQL behind a load balancer: compose.yaml.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first so that code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY bot/__init__.py bot/__init__.py
COPY storage/__init__.py storage/__init__.py
RUN pip install -e '.[postgres]'

COPY bot bot
COPY storage storage
COPY locales locales
# The catalog tool, the price import (`python scripts/import_prices.py gia.csv`) and the rest the
# README names; the benchmarks among them also need the dev extra and tests/, on a dev machine.
COPY scripts scripts
COPY alembic.ini ./
# Catalogs compiled at build time: the image never needs Babel's tools at run time.
RUN python scripts/i18n.py compile

RUN useradd --create-home --uid 10001 nongsan && mkdir -p /app/data && chown nongsan /app/data
USER nongsan

ENV DATABASE_URL=sqlite+aiosqlite:////app/data/nongsan.db \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080
VOLUME ["/app/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"

CMD ["python", "-m", "bot"]
