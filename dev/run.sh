#!/usr/bin/env bash
# `make run`: the stack, the edge (127.0.0.1:8000) and the worker in the foreground.
# Ctrl-C stops the edge and the worker, and the stack services this run started.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# The worker's endpoints take tokens, sites' signing secrets are sealed with a key, and no
# secret has a default in code: the first run makes random ones, kept (mode 0600) in
# var/secrets.env, which every leadstream process here reads after .env and the environment
# (`.venv/bin/leadstream query` in another terminal just works). A file from an older run gets
# the variables it lacks.
mkdir -p var
.venv/bin/python - var/secrets.env <<'PY' || exit 1
import base64, json, os, secrets, sys

path = sys.argv[1]
have = open(path).read() if os.path.exists(path) else ""
wanted = {
    "LEADSTREAM_WORKER_TOKEN": secrets.token_urlsafe(32),
    "LEADSTREAM_ANALYST_TOKENS": "'" + json.dumps({"dev": secrets.token_urlsafe(32)}) + "'",
    "LEADSTREAM_SITES_KEYS": "'" + json.dumps([base64.urlsafe_b64encode(os.urandom(32)).decode()]) + "'",
}
missing = {k: v for k, v in wanted.items() if f"{k}=" not in have}
if missing:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as out:
        if not have:
            out.write("# made by dev/run.sh: the worker's token, the analysts' tokens, the sites' sealing key\n")
        out.writelines(f"{k}={v}\n" for k, v in missing.items())
    print(f"[run] var/secrets.env: made {', '.join(missing)}")
PY

was_up=0
dev/stack.sh status | grep -q 'kafka .* up' && dev/stack.sh status | grep -q 'redis .* up' && was_up=1
dev/stack.sh up || exit 1
[ $was_up = 1 ] || trap 'echo; dev/stack.sh down' EXIT

echo "[run] edge on http://127.0.0.1:${LEADSTREAM_EDGE_PORT:-8000}, worker web on 127.0.0.1:${LEADSTREAM_WORKER_PORT:-6066}; Ctrl-C stops all"
# LEADSTREAM_RUN_PROCESSORS=N: a warehouse writer and N processor processes instead of one worker
.venv/bin/leadstream run --processors "${LEADSTREAM_RUN_PROCESSORS:-0}"
