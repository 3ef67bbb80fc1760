#!/usr/bin/env bash
# Compatibility: packs the library as npm would publish it, installs the tarball in temporary
# CommonJS projects (dependencies from the npm registry) and runs test/compat/smoke-app.cjs there:
#   1. @nestjs/* 11 + @nestjs/terminus 11, Express
#   2. @nestjs/* 12 + @nestjs/terminus 12, Fastify
# Each project is plain JavaScript with "type": "commonjs" and loads the ESM-only package with
# require() (Node ^20.19 / >=22.12). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
smoke="$root/test/compat/smoke-app.cjs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$SECONDS
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_loglevel=error

echo "compat: npm run build && npm pack"
npm run build --silent
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
[ -f "$tarball" ] || { echo "compat: npm pack produced no tarball" >&2; exit 1; }
echo "compat: packed $(basename "$tarball") ($(du -k "$tarball" | cut -f1) kB)"

# smoke <name> <adapter> <package>...: a fresh CommonJS project with those packages and the tarball.
smoke() {
  local name=$1 adapter=$2
  shift 2
  local dir="$work/$name"
  mkdir -p "$dir"
  printf '{ "name": "compat-%s", "private": true, "type": "commonjs" }\n' "$name" > "$dir/package.json"
  cp "$smoke" "$dir/smoke.js"
  echo
  echo "compat [$name]: npm install $* $(basename "$tarball")"
  (cd "$dir" && timeout 240 npm install "$@" "$tarball" >"$dir/npm-install.log" 2>&1) || {
    cat "$dir/npm-install.log" >&2
    echo "compat [$name]: npm install failed" >&2
    return 1
  }
  # stderr is kept apart: a warning while loading the package (e.g. about require() of ESM) fails the run
  local status=0
  (cd "$dir" && COMPAT_ADAPTER=$adapter timeout 60 node smoke.js 2>"$dir/stderr.log") || status=$?
  if [ -s "$dir/stderr.log" ]; then
    cat "$dir/stderr.log" >&2
    [ "$status" -ne 0 ] || { echo "compat [$name]: the smoke test wrote to stderr" >&2; status=1; }
  fi
  [ "$status" -eq 0 ] || { echo "compat [$name]: FAILED" >&2; return 1; }
}

smoke nest11-express-cjs express \
  '@nestjs/common@^11' '@nestjs/core@^11' '@nestjs/platform-express@^11' '@nestjs/terminus@^11' 'reflect-metadata@^0.2' 'rxjs@^7'
smoke nest12-fastify-cjs fastify \
  '@nestjs/common@^12' '@nestjs/core@^12' '@nestjs/platform-fastify@^12' '@nestjs/terminus@^12' 'reflect-metadata@^0.2' 'rxjs@^7'

echo
echo "compat: both projects passed in $((SECONDS - started)) s"
