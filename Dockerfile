# The edge and the worker share one image: `leadstream edge` / `leadstream worker`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LEADSTREAM_VAR_DIR=/var/lib/leadstream
WORKDIR /app

COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY leadstream ./leadstream
COPY clients/python/leadstream_client ./clients/python/leadstream_client
RUN pip install --no-deps . && useradd --system --home /var/lib/leadstream leadstream \
    && mkdir -p /var/lib/leadstream && chown leadstream /var/lib/leadstream
USER leadstream

ENTRYPOINT ["leadstream"]
CMD ["edge", "--host", "0.0.0.0"]
