#!/usr/bin/env bash
# Static security analysis of terraform/ with checkov (pinned), in its own virtualenv.
#
# checkov's dependency tree clashes with the application's pins, so it lives in
# .venv-checkov (git-ignored), created on first use and reused afterwards: a second run
# only starts checkov. Accepted findings are listed, each with its reason, in
# terraform/.checkov.yaml (project-wide skips) or as inline `checkov:skip=ID:reason`
# comments on the one resource they concern (also listed in that file's comments);
# tests/infra checks the two lists agree. Any other failed check fails this script.
set -euo pipefail

CHECKOV_VERSION="3.3.30"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHECKOV_VENV:-$ROOT/.venv-checkov}"
PYTHON="${PYTHON:-python3.11}"
STAMP="$VENV/.checkov-$CHECKOV_VERSION"

if [[ ! -f "$STAMP" || ! -x "$VENV/bin/checkov" ]]; then
  command -v "$PYTHON" >/dev/null || { echo "$PYTHON not found: install Python 3.11 (or set PYTHON=...)" >&2; exit 1; }
  echo "checkov.sh: installing checkov==$CHECKOV_VERSION into $VENV (first run only)" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  touch "$STAMP"
fi

cd "$ROOT"
# --skip-download: no calls to the Prisma Cloud/Bridgecrew API (offline, no telemetry).
exec "$VENV/bin/checkov" \
  --directory terraform \
  --framework terraform \
  --config-file terraform/.checkov.yaml \
  --skip-download \
  --quiet --compact \
  "$@"
