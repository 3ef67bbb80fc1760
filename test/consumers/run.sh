#!/usr/bin/env bash
# Consumer type-checks of the packed library for every supported tsconfig setting (check.mjs).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm run build --silent
tarball="$work/$(npm pack --silent --ignore-scripts --pack-destination "$work" | tail -n 1)"
node test/consumers/check.mjs "$tarball"
