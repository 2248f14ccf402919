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

# Phases, so that tests with real peers and real time do not starve each other on a small machine: a browser
# driver's test holds a thread of the test runner's pool for its whole call, CPU-bound simulations hold the others,
# and the cross-check compares milliseconds. Every phase runs even when one fails; the script fails if any did.
real_peers='SDPBrowserAcceptanceTests|RelayInteropTests'
cross_check='LatencyCrossCheckTests'
status=0
# Unit and simulation tests of every target but EarshotTests: deterministic, some long and CPU-bound.
echo "== phase 1 of 5: unit and simulation tests"
swift test --skip-build --skip '^EarshotTests\.' --skip "$real_peers" 2>&1 || status=1
# The relay over real loopback sockets, with our client, models and processes, in real time.
echo "== phase 2 of 5: loopback integration tests"
swift test --skip-build --filter '^EarshotTests\.' --skip "$real_peers|$cross_check" 2>&1 || status=1
echo "== phase 3 of 5: real third-party peers (Chromium, Firefox, GStreamer) in a loopback-only namespace"
swift test --skip-build --filter "$real_peers" 2>&1 || status=1
echo "== phase 4 of 5: earshot call against Chromium's own account of the same call"
swift test --skip-build --filter "$cross_check" 2>&1 || status=1
# The Python reference model (Docs/examples/earshot_model.py) against its protocol driver: Debian's python3, the
# standard library only.
echo "== phase 5 of 5: the Python reference model and sidecar example"
/usr/bin/python3 -m unittest discover -s Tests/Models 2>&1 || status=1
exit $status
