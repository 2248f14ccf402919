#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Swift: installs the system packages the build and the
# tests need (as root, by package name), then runs every test. Usage: bash Tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopus-dev libsrtp2-dev libssl-dev pkg-config python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

swift test 2>&1
