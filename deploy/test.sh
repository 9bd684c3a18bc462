#!/usr/bin/env bash
# The README's second command: install fs3 with its test tools and run the
# default test suite (long soak/fault/benchmark runs need --slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install.sh test
exec .venv/bin/python -m pytest -q "$@"
