#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The test runner behind `make check` (which builds build/ and build-asan/
# first). Runs, in order, each counting as one test:
#   1. every unit test binary in build/tests/ and build-asan/tests/;
#   2. every corpus replay build-asan/replay/fuzz_X over tests/fuzz/corpus/X/;
#   3. every network-namespace scenario tests/netns/*.sh (not the *lib.sh helpers), once,
#      with the normal daemon build/fluxgated under valgrind memcheck
#      (VALGRIND=1: any memcheck error or definite leak fails the scenario),
#      and with FG_NETNS_ASAN=1 once more with the sanitizer build; a
#      scenario whose header has the line "# fg-runner: sanitizer-only" (a
#      lab experiment of fixed duration that never runs valgrind) runs only
#      the sanitizer pass then;
#   4. every packaging check tests/pkg/*.sh (no namespaces; each builds a
#      clean export of the tree in a temporary directory).
# Prints PASS/FAIL per test (with the tail of its log on failure; all logs in
# build/test-logs/) and ends with the line "N passed, N failed"; exits 1 when
# anything failed.
#
# Usage: tests/run.sh [-k PATTERN]   only tests whose name contains PATTERN
# Env:   FG_NETNS_ASAN=1   also run each scenario with build-asan/fluxgated
#        FG_NETNS_VALGRIND=0  run the scenarios without valgrind
#        FG_TEST_TIMEOUT   seconds per unit/replay test (default 120)
#        FG_NETNS_TIMEOUT  seconds per scenario (default 600; 1200 for the
#                          valgrind pass, which slows the daemons 20-50 times:
#                          the bound only matters for a hung scenario)
#        FG_PKG_TIMEOUT    seconds per packaging check (default 1200)
#        FG_PKG_DPKG=1     pkg/deb also installs the .deb with dpkg -i and
#                          purges it again (root; refused if fluxgate is there)
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
LOGS="$ROOT/build/test-logs"
PATTERN=""
if [ "${1:-}" = "-k" ] && [ -n "${2:-}" ]; then
	PATTERN=$2
fi
T_UNIT=${FG_TEST_TIMEOUT:-120}
T_NETNS=${FG_NETNS_TIMEOUT:-600}
T_NETNS_VG=${FG_NETNS_TIMEOUT:-1200}

rm -rf "$LOGS"
mkdir -p "$LOGS"

passed=0
failed=0
failed_names=()
start_all=$SECONDS

selected() { [ -z "$PATTERN" ] || [[ $1 == *"$PATTERN"* ]]; }

# report NAME RC LOG SECONDS
report() {
	local name=$1 rc=$2 logf=$3 secs=$4
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		printf 'PASS %s (%ss)\n' "$name" "$secs"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		if [ "$rc" -eq 124 ]; then
			printf 'FAIL %s (timed out after %ss)\n' "$name" "$secs"
		else
			printf 'FAIL %s (exit %s, %ss)\n' "$name" "$rc" "$secs"
		fi
		printf '  ---- last lines of %s\n' "${logf#"$ROOT"/}"
		tail -n 40 "$logf" | sed 's/^/  | /'
		printf '  ----\n'
	fi
}

# run_one NAME LOG TIMEOUT CMD...
run_one() {
	local name=$1 logf=$2 t=$3; shift 3
	local t0=$SECONDS rc
	mkdir -p "$(dirname "$logf")"
	timeout -k 15 "$t" "$@" >"$logf" 2>&1 </dev/null
	rc=$?
	report "$name" "$rc" "$logf" $((SECONDS - t0))
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ------------------------------------------------------------ 1. unit tests
for tree in build build-asan; do
	[ -d "$tree/tests" ] || { echo "note: no $tree/tests/ (no unit tests built)"; continue; }
	for t in "$tree"/tests/*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		name="unit/$tree/$(basename "$t")"
		selected "$name" || continue
		run_one "$name" "$LOGS/unit/$tree-$(basename "$t").log" "$T_UNIT" "$ROOT/$t"
	done
done

# ------------------------------------------------------------ 2. corpus replay
if [ -d build-asan/replay ]; then
	for r in build-asan/replay/fuzz_*; do
		[ -f "$r" ] && [ -x "$r" ] || continue
		target=$(basename "$r")
		corpus="tests/fuzz/corpus/${target#fuzz_}"
		name="replay/$target"
		selected "$name" || continue
		logf="$LOGS/replay/$target.log"
		if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus" 2>/dev/null)" ]; then
			mkdir -p "$(dirname "$logf")"
			echo "no corpus: $corpus is missing or empty (a fuzz target needs a seed corpus)" >"$logf"
			report "$name" 1 "$logf" 0
			continue
		fi
		run_one "$name" "$logf" "$T_UNIT" "$ROOT/$r" "$ROOT/$corpus"
	done
else
	echo "note: no build-asan/replay/ (no corpus replay built)"
fi

# ------------------------------------------------------------ 3. netns scenarios
# A scenario's namespaces are named "$prefix-..." (lib.sh); after it exits,
# any namespace left with that prefix is a cleanup bug: it fails the scenario
# and is removed here (with the processes still inside it).
cleanup_leftovers() {
	local prefix=$1 logf=$2 n p left=0
	while read -r n _; do
		[[ $n == "$prefix"-* ]] || continue
		left=1
		echo "runner: namespace $n left behind by the scenario" >>"$logf"
		for p in $(ip netns pids "$n" 2>/dev/null); do
			echo "runner: killing pid $p left in $n: $(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null)" >>"$logf"
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$n" 2>/dev/null
	done < <(ip netns list 2>/dev/null)
	return $left
}

run_scenario() {
	local s=$1 daemon=$2 vg=$3 suffix=$4
	local base name logf prefix t0 rc t=$T_NETNS
	[ "$vg" = 1 ] && t=$T_NETNS_VG
	base=$(basename "$s" .sh)
	name="netns/$base$suffix"
	selected "$name" || return 0
	logf="$LOGS/netns/$base$suffix.log"
	mkdir -p "$LOGS/netns/$base$suffix"
	prefix="fgr$$n$((passed + failed))"
	t0=$SECONDS
	if [ "$(id -u)" -ne 0 ]; then
		echo "network-namespace scenarios need root" >"$logf"
		report "$name" 1 "$logf" 0
		return 0
	fi
	if [ ! -x "$daemon" ]; then
		echo "daemon binary $daemon is missing (make all)" >"$logf"
		report "$name" 1 "$logf" 0
		return 0
	fi
	FLUXGATED="$ROOT/$daemon" VALGRIND=$vg FG_LOGDIR="$LOGS/netns/$base$suffix" \
		FG_NS_PREFIX="$prefix" FG_TEST_NAME="$base$suffix" \
		timeout -k 20 "$t" bash "$s" >"$logf" 2>&1 </dev/null
	rc=$?
	if ! cleanup_leftovers "$prefix" "$logf" && [ $rc -eq 0 ]; then
		rc=1
	fi
	report "$name" "$rc" "$logf" $((SECONDS - t0))
}

NETNS_VG=${FG_NETNS_VALGRIND:-1}
for s in tests/netns/*.sh; do
	[ -f "$s" ] || continue
	case "$(basename "$s")" in *lib.sh) continue ;; esac   # helpers, not scenarios
	if [ "${FG_NETNS_ASAN:-0}" != 1 ] || ! grep -q '^# fg-runner: sanitizer-only$' "$s"; then
		run_scenario "$s" build/fluxgated "$NETNS_VG" ""
	fi
	if [ "${FG_NETNS_ASAN:-0}" = 1 ]; then
		# Leak checking stays with the valgrind run: LeakSanitizer stops
		# the world with ptrace, which the DNS process's seccomp filter
		# refuses (a fatal LSan error at exit). ASan and UBSan errors
		# still abort the daemon, and the scenario fails on its status.
		ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
			run_scenario "$s" build-asan/fluxgated 0 "@asan"
	fi
done

# ------------------------------------------------------------ 4. packaging
for s in tests/pkg/*.sh; do
	[ -f "$s" ] || continue
	name="pkg/$(basename "$s" .sh)"
	selected "$name" || continue
	run_one "$name" "$LOGS/pkg/$(basename "$s" .sh).log" "${FG_PKG_TIMEOUT:-1200}" bash "$ROOT/$s"
done

# ------------------------------------------------------------ summary
echo
echo "tests took $((SECONDS - start_all))s; logs in build/test-logs/"
if [ "$failed" -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
