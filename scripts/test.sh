#!/usr/bin/env bash
# Installs everything the tests need, then runs the whole test suite.
# Usage: sudo scripts/test.sh [FILTER...]   (filters select test files by substring)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The VM tests boot the guest image: build it (a no-op when up to date).
bin/kata-ts-image build
npm run typecheck
node scripts/run-tests.mjs "$@"
