#!/usr/bin/env bash
# Makes the Python environment of clients/python (README.md there): a venv in
#   ${MCP0_CACHE:-$HOME/.cache/mcp0}/python-<hash>
# where <hash> covers clients/python/requirements.txt and the interpreter, so a venv is made once
# per set of pins and reused; it holds exactly those pins (installed with --no-deps, then checked
# with `pip check`) and the mcp0 package installed editable from this clone. The editable install
# is redone when the clone's path or pyproject.toml changes (CI runs in a fresh clone each time).
# Needs python3 >= 3.10 (MCP0_PYTHON_BASE=<path> picks another) and PyPI.
# Prints the venv's python on stdout as its last line; .ci/run exports it as MCP0_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$(pwd -P)"
PKG="$ROOT/clients/python"
LOCK="$PKG/requirements.txt"

BASE="${MCP0_PYTHON_BASE:-python3}"
command -v "$BASE" >/dev/null || { echo "setup.sh: $BASE not found: Python >= 3.10 is required (MCP0_PYTHON_BASE=<path> picks one)" >&2; exit 1; }
"$BASE" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "setup.sh: $BASE is Python $("$BASE" -c 'import platform; print(platform.python_version())'); clients/python needs >= 3.10" >&2
  exit 1
}

CACHE="${MCP0_CACHE:-$HOME/.cache/mcp0}"
mkdir -p "$CACHE"
interpreter="$("$BASE" -c 'import platform, sys; print(sys.implementation.cache_tag, platform.python_version(), platform.machine(), sys.base_prefix)')"
hash="$( { cat "$LOCK"; echo "$interpreter"; } | sha256sum | cut -c1-16)"
VENV="$CACHE/python-$hash"
PY="$VENV/bin/python"
pip_quiet=(--disable-pip-version-check --no-input --quiet)

# One maker at a time: two CI steps or two clones may share the cache.
exec 9>"$VENV.lock"
flock 9

if [ ! -f "$VENV/.complete" ]; then
  echo "== making $VENV ($interpreter)" >&2
  rm -rf "$VENV"
  "$BASE" -m venv "$VENV"
  "$PY" -m pip install "${pip_quiet[@]}" --no-deps -r "$LOCK" >&2
  "$PY" -m pip check >&2
  touch "$VENV/.complete"
fi

# The editable install points at this clone; its stamp names the clone and the pyproject it read.
editable="$( { echo "$PKG"; cat "$PKG/pyproject.toml"; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$VENV/.editable" 2>/dev/null)" != "$editable" ]; then
  echo "== installing clients/python (editable) into $VENV" >&2
  "$PY" -m pip install "${pip_quiet[@]}" --no-deps --no-build-isolation -e "$PKG" >&2
  "$PY" -m pip check >&2
  echo "$editable" > "$VENV/.editable"
fi
found="$("$PY" -c 'import mcp0, os; print(os.path.realpath(mcp0.__file__))')"
if [ "$found" != "$PKG/src/mcp0/__init__.py" ]; then
  echo "setup.sh: $PY imports mcp0 from $found, not from $PKG/src: remove $VENV and run again" >&2
  exit 1
fi
echo "$PY"
