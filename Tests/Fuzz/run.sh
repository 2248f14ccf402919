#!/usr/bin/env bash
# Builds and runs every fuzz target for a bounded time or number of runs, one target at a time, and prints per
# target the executions, executions per second and crashes found. Exits non-zero if any target crashed (a crash,
# a property violation, a leak, a timeout or running out of memory).
#
# Usage (from anywhere):
#   Tests/Fuzz/run.sh [SECONDS]            each target for SECONDS (default 60)
#   Tests/Fuzz/run.sh -runs N              each target for N executions
#   Tests/Fuzz/run.sh ... FuzzSTUN FuzzRTP only the named targets
#   Tests/Fuzz/run.sh --debug ...          a debug build instead of release
#
# Targets are built with libFuzzer and AddressSanitizer (with LeakSanitizer), optimized by default: -O keeps every
# precondition, array bounds check and overflow trap, while ASan checks raw-pointer reads against the input buffer
# (libFuzzer copies each input into a heap block of exactly its size). The debug build also keeps the debug-only
# bounds checks of UnsafeRawBufferPointer (a read past the end of a sub-range that stays inside the input), at a
# tenth to a thirtieth of the speed.
#
# Inputs that crash are written to Tests/Fuzz/Crashers/<Target>/ (kept in the repository once the bug is fixed;
# Tests/EarshotWireTests/FuzzCrasherReplayTests.swift replays them). New coverage goes to a scratch corpus under
# .build-fuzz/corpus/<Target>/; the seeds in Corpus/<Target>/ are only read. Logs: .build-fuzz/logs/<Target>.log.
set -uo pipefail
cd "$(dirname "$0")"

all_targets=(FuzzSTUN FuzzRTP FuzzRTCP FuzzSDP FuzzDemux FuzzOpusTOC FuzzModelProtocol FuzzModelBridge)
seconds=60
runs=""
configuration=release
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    -runs) runs="$2"; shift 2 ;;
    -runs=*) runs="${1#-runs=}"; shift ;;
    --debug) configuration=debug; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    Fuzz*) targets+=("$1"); shift ;;
    *[!0-9]*|'') echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    *) seconds="$1"; shift ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

# A crash is reported by libFuzzer; Swift's own backtracer would only delay it (it can wait 30 s per crash).
export SWIFT_BACKTRACE=enable=no

scratch=.build-fuzz
mkdir -p "$scratch/logs"
if [ -n "$runs" ]; then bound=(-runs="$runs"); else bound=(-max_total_time="$seconds"); fi

# `--sanitize fuzzer` makes SwiftPM link libFuzzer's main; the Swift flag asks for both sanitizers in one option,
# because with `--sanitize fuzzer --sanitize address` the compiler frontend receives only one of the two (no
# coverage instrumentation in a release build, no ASan instrumentation in a debug one).
sanitize=(--sanitize fuzzer -Xswiftc -sanitize=fuzzer,address)

# Build every target first (one after the other: the machine has two cores), so a build failure stops early.
for target in "${targets[@]}"; do
  echo "building $target"
  if ! swift build -c "$configuration" --product "$target" "${sanitize[@]}" --scratch-path "$scratch" \
      > "$scratch/logs/$target.build.log" 2>&1; then
    grep -E "error" "$scratch/logs/$target.build.log" | head -20
    echo "build of $target failed (see $scratch/logs/$target.build.log)" >&2
    exit 2
  fi
done
binaries="$(swift build -c "$configuration" "${sanitize[@]}" --scratch-path "$scratch" --show-bin-path 2>/dev/null)"

failed=0
summary=()
for target in "${targets[@]}"; do
  crashers="Crashers/$target"
  corpus="$scratch/corpus/$target"
  mkdir -p "$crashers" "$corpus"
  before=$(ls "$crashers" | wc -l)
  options=("${bound[@]}" -use_value_profile=1 -timeout=10 -rss_limit_mb=4096 -print_final_stats=1
           -artifact_prefix="$crashers/")
  [ -f "Dictionaries/$target.dict" ] && options+=(-dict="Dictionaries/$target.dict")
  echo "running $target ${options[*]}"
  "$binaries/$target" "${options[@]}" "$corpus" "Corpus/$target" > "$scratch/logs/$target.log" 2>&1
  status=$?
  after=$(ls "$crashers" | wc -l)
  executions=$(grep -m1 '^stat::number_of_executed_units:' "$scratch/logs/$target.log" | awk '{print $2}')
  rate=$(grep -m1 '^stat::average_exec_per_sec:' "$scratch/logs/$target.log" | awk '{print $2}')
  crashes=$((after - before))
  if [ $status -ne 0 ] || [ $crashes -ne 0 ]; then
    failed=1
    [ $crashes -eq 0 ] && crashes="exit $status"
    grep -E "ERROR|Fatal error|SUMMARY|Test unit written|artifact_prefix" "$scratch/logs/$target.log" | head -10
  fi
  line=$(printf '%-12s executions: %-9s exec/s: %-7s crashes: %s' "$target" "${executions:-?}" "${rate:-?}" "$crashes")
  echo "$line"
  summary+=("$line")
done

echo
echo "summary ($configuration build, $(if [ -n "$runs" ]; then echo "-runs=$runs"; else echo "${seconds}s"; fi) per target)"
printf '%s\n' "${summary[@]}"
exit $failed
