#!/usr/bin/env bash
# The whole test suite, as the README gives it: unit, sandbox HTTP and
# end-to-end tests (real Terraform), and the dashboard test in headless
# Chromium. Installs Debian's chromium package where it is missing (as root,
# or with sudo); everything else is built from this repository.
#
#   scripts/test.sh [cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CHROMIUM:-}" ] && ! [ -x /usr/bin/chromium ]; then
  echo "test: installing Debian's chromium for the dashboard test" >&2
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo)
  if command -v apt-get >/dev/null 2>&1; then
    # A failed index refresh may still leave usable package lists.
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test: no apt-get here; install Chromium and set CHROMIUM to its path" >&2
    exit 1
  fi
fi

exec cargo test --workspace --locked "$@"
