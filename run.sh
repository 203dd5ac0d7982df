#!/usr/bin/env bash
# Set up the Python environment (first time only), then run the workflow or the tests.
#   ./run.sh demo [snakemake options]   whole workflow on the built-in synthetic cohort
#   ./run.sh test [pytest options]      the test suite
set -euo pipefail
cd "$(dirname "$0")"
VENV=${BRAINMETS_VENV:-.venv}

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" || {
      echo "error: 'python3 -m venv' failed; on Debian/Ubuntu run: apt-get install python3-venv" >&2
      exit 1
    }
  fi
  # Reinstall only when the declared dependencies change.
  local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
    touch "$stamp"
  fi
}

case "${1:-}" in
  demo)
    shift
    setup
    exec "$VENV/bin/snakemake" --cores "${CORES:-all}" "$@"
    ;;
  test)
    shift
    setup
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: ./run.sh demo [snakemake options] | ./run.sh test [pytest options]" >&2
    exit 2
    ;;
esac
