#!/usr/bin/env bash
# Installs what the local stack needs from Debian's packages, only if missing:
# Java 17+ and Maven (Kafka), redis-server, python3-venv; chromium for the tests
# (LEADSTREAM_TESTS=1: the tracker runs in a real browser), nodejs and npm to build the
# tracker (LEADSTREAM_TRACKER=1), wrk for the benchmarks (LEADSTREAM_BENCH=1), docker-compose
# to check docker-compose.yml (LEADSTREAM_COMPOSE=1; no Docker engine needed for that).
# Uses sudo when not root. Safe to run repeatedly.
set -euo pipefail

need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v curl >/dev/null || need+=(curl)
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
[ "${LEADSTREAM_BENCH:-0}" = 1 ] && { command -v wrk >/dev/null || need+=(wrk); }
[ "${LEADSTREAM_TESTS:-0}" = 1 ] && { command -v chromium >/dev/null || need+=(chromium); }
[ "${LEADSTREAM_TRACKER:-0}" = 1 ] && { command -v npm >/dev/null || need+=(nodejs npm); }
[ "${LEADSTREAM_COMPOSE:-0}" = 1 ] && { command -v docker-compose >/dev/null || need+=(docker-compose); }

[ ${#need[@]} -eq 0 ] && exit 0
echo "[bootstrap] installing Debian packages: ${need[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null && SUDO=sudo || { echo "[bootstrap] run as root or install: ${need[*]}" >&2; exit 1; }; }
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
# Debian's package starts a system redis on 6379 where systemd runs; the stack reuses it.
