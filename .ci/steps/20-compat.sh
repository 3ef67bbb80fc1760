#!/usr/bin/env bash
# The packed library in fresh projects: Nest 11 + Express and Nest 12 + Fastify (test/compat/run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash test/compat/run.sh
