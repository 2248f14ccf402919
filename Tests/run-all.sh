#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Swift: installs the system packages the build and the
# tests need (as root, by package name), then runs every test. Usage: bash Tests/run-all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  libopus-dev libsrtp2-dev libssl-dev pkg-config python3
  # Real WebRTC peers for the interop tests (Tests/Interop), run in a loopback-only network namespace.
  util-linux iproute2 chromium firefox-esr sox
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-nice python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0
  gir1.2-nice-0.1
)
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
