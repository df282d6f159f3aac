#!/usr/bin/env bash
# `make run`: the stack, the edge (127.0.0.1:8000) and the worker in the foreground.
# Ctrl-C stops the edge and the worker, and the stack services this run started.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

was_up=0
dev/stack.sh status | grep -q 'kafka .* up' && dev/stack.sh status | grep -q 'redis .* up' && was_up=1
dev/stack.sh up || exit 1
[ $was_up = 1 ] || trap 'echo; dev/stack.sh down' EXIT

echo "[run] edge on http://127.0.0.1:${LEADSTREAM_EDGE_PORT:-8000}, worker web on 127.0.0.1:${LEADSTREAM_WORKER_PORT:-6066}; Ctrl-C stops all"
# LEADSTREAM_RUN_PROCESSORS=N: a warehouse writer and N processor processes instead of one worker
.venv/bin/leadstream run --processors "${LEADSTREAM_RUN_PROCESSORS:-0}"
