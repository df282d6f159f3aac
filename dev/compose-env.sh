#!/usr/bin/env bash
# Prints a .env for docker-compose with a random value for every secret it needs:
#   dev/compose-env.sh > .env && chmod 600 .env
# Run it once; running it again makes new secrets (the stored data's ClickHouse password changes).
set -euo pipefail
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(32))'; }
sealing_key() { python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'; }
cat <<ENV
CLICKHOUSE_PASSWORD=$(rand)
REDIS_PASSWORD=$(rand)
GRAFANA_ADMIN_PASSWORD=$(rand)
LEADSTREAM_WORKER_TOKEN=$(rand)
LEADSTREAM_ANALYST_TOKENS={"analyst": "$(rand)"}
LEADSTREAM_SITES_KEYS=["$(sealing_key)"]
# LEADSTREAM_OS_TOKENS={"<token>": ["<tenant>"]}
ENV
