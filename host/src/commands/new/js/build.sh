#!/bin/sh
# Builds {{name}}.wasm from {{name}}.js: componentize-js (installed into
# node_modules on first use, from the npm registry) packs the JavaScript engine
# (StarlingMonkey), the sluice SDK and the plugin into one WebAssembly component.
#
# -d stdio random clocks http fetch-event: the component imports nothing from
# WASI (no stdio, clock, randomness or network; the Sluice sandbox would refuse
# them anyway); console.log() and sluice.log() go to the host's log.
#
# COMPONENTIZE_JS=/path/to/componentize-js uses that one instead.
set -eu
cd "$(dirname "$0")"
tool="${COMPONENTIZE_JS:-node_modules/.bin/componentize-js}"
if [ -z "${COMPONENTIZE_JS:-}" ] && [ ! -x "$tool" ]; then
    echo "installing componentize-js into node_modules (once)"
    npm install --silent --no-audit --no-fund
fi
"$tool" {{name}}.js -w wit -n transform -d stdio random clocks http fetch-event -o {{name}}.wasm
