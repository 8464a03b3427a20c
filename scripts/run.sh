#!/usr/bin/env bash
# Start the app on a fresh machine: installs what it needs, then serves on http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python app.py "$@"
