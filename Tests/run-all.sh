#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine with Swift: installs the system packages the build and the
# tests need (as root, by package name), then runs every test. Usage: bash Tests/run-all.sh
#
# Browser and GStreamer interop tests run real peers inside a network namespace that has only loopback, so no test
# traffic can leave the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # Build: the three C libraries Earshot wraps.
  libopus-dev libsrtp2-dev libssl-dev pkg-config
  # Interop tests: real WebRTC peers and their drivers (Tests/Interop), run in a loopback-only network namespace.
  python3 python3-gi chromium firefox-esr
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice
  gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 gir1.2-nice-0.1
  # Test audio and lo-only network namespaces.
  sox iproute2 util-linux
  # A certificate for the wss:// model test.
  openssl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" > /tmp/earshot-apt.log 2>&1 || { tail -30 /tmp/earshot-apt.log; exit 1; }
fi

swift build --build-tests 2>&1
swift test --skip-build 2>&1
# The Python reference model (Docs/examples/earshot_model.py) against its protocol driver: Debian's python3, the
# standard library only.
/usr/bin/python3 -m unittest discover -s Tests/Models 2>&1
