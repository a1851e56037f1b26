#!/bin/sh
# Builds {{name}}.wasm from {{name}}.py: componentize-py (installed into .venv
# on first use, from the Python package registry) packs the Python interpreter,
# the sluice SDK and the plugin into one WebAssembly component.
#
# --stub-wasi: the component imports nothing from WASI (no files, clock,
# randomness or network; the Sluice sandbox would refuse them anyway); print()
# and sluice.log() go to the host's log.
#
# COMPONENTIZE_PY=/path/to/componentize-py uses that one instead.
set -eu
cd "$(dirname "$0")"
version=0.25.1
tool="${COMPONENTIZE_PY:-.venv/bin/componentize-py}"
if [ -z "${COMPONENTIZE_PY:-}" ] && ! "$tool" --version 2>/dev/null | grep -q "$version"; then
    echo "installing componentize-py $version into .venv (once)"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "componentize-py==$version"
fi
"$tool" -d wit -w transform componentize --stub-wasi {{name}} -o {{name}}.wasm
