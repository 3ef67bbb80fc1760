#!/usr/bin/env bash
# Consumer projects type-check against the packed library: nodenext (ESM and CommonJS), node16,
# bundler, commonjs/node10; with and without the optional peers; minimum TypeScript (test/consumers).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/consumers/run.sh
