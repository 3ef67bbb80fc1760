#!/usr/bin/env bash
# 30 s load test of the built sample app (README "Reliability").
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run test:load
