#!/usr/bin/env bash
# No import cycles in lib/ (docs/architecture.md): dependency-cruiser, a dev dependency.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run check:cycles
