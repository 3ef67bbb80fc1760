#!/usr/bin/env bash
# A Nest 11 CommonJS project made like the Nest CLI starter (ts-jest, its Jest config unchanged)
# runs a spec against the packed library (test/nest11-jest/run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/nest11-jest/run.sh
