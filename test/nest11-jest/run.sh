#!/usr/bin/env bash
# A Nest 11 CommonJS project as the Nest CLI starter makes it (package.json's Jest block, ts-jest,
# tsconfig as `nest new` writes it): copies this folder into a temporary directory, installs its
# dependencies from the npm registry and the packed library, and runs its `npm test` (jest) unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$SECONDS
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_loglevel=error

if [ -z "${PACKED_TARBALL:-}" ]; then
  npm run build --silent
  PACKED_TARBALL="$work/$(npm pack --silent --ignore-scripts --pack-destination "$work" | tail -n 1)"
fi
[ -f "$PACKED_TARBALL" ] || { echo "nest11-jest: no tarball at $PACKED_TARBALL" >&2; exit 1; }

project="$work/nest11-app"
mkdir -p "$project"
cp -r "$root/test/nest11-jest/package.json" "$root/test/nest11-jest/tsconfig.json" "$root/test/nest11-jest/src" "$project/"
echo "nest11-jest: npm install (Nest 11, jest 30, ts-jest 29) + $(basename "$PACKED_TARBALL")"
(cd "$project" && timeout 300 npm install "$PACKED_TARBALL" >"$project/npm-install.log" 2>&1) || {
  cat "$project/npm-install.log" >&2
  echo "nest11-jest: npm install failed" >&2
  exit 1
}
(cd "$project" && node -e "const p=require('@nestjs/core/package.json'); if (!p.version.startsWith('11.')) { console.error('expected @nestjs/core 11, got ' + p.version); process.exit(1) }")
(cd "$project" && timeout 180 npm test --silent) || { echo "nest11-jest: FAILED" >&2; exit 1; }
echo "nest11-jest: passed in $((SECONDS - started)) s"
