#!/usr/bin/env bash
# The Prometheus alert rules of docs/grafana pass `promtool check rules` (syntax, PromQL, templates).
# The metric and label names in them and in the dashboard are checked against a real scrape by
# test/grafana/grafana.e2e-spec.ts (part of `npm test`).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "40-grafana: installing Debian's prometheus package for promtool"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

promtool check rules docs/grafana/circuit-breakers.rules.yml
node -e "const d = JSON.parse(require('fs').readFileSync('docs/grafana/circuit-breakers.dashboard.json', 'utf8')); if (!Array.isArray(d.panels) || d.panels.length === 0) throw new Error('dashboard has no panels'); console.log('40-grafana: dashboard JSON parses, ' + d.panels.length + ' panels')"
