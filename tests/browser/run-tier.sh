#!/bin/sh
# run-tier.sh TEST.mjs... MODULE... - run one browser tier (tests/test-browser.sh,
# tests/test-firefox.sh) as TAP, or "1..0 # SKIP" when node or the node
# MODULEs are missing (npm ci --prefix tests/browser).
#
# A browser takes both CPUs of a small machine for a while, and
# tests/test-load.py measures latency: local.mk lists the browser tiers after
# it, and a tier waits here until a load test of the same run has finished:
# its log is there without a result.  At most 3 minutes, and only for a log
# created in the last 5 (an interrupted run leaves a log without a result;
# the log itself tells nothing sooner: Python writes it at the end).  The
# tiers also take turns with each other.
here=$(cd "$(dirname "$0")" && pwd)
build=${CB_BUILDDIR:-$(cd "$here/../.." && pwd)}
tests=
while [ $# -gt 0 ] && [ "${1%.mjs}" != "$1" ]; do
	tests="$tests $here/$1"
	shift
done
if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP node not installed"; exit 0
fi
for module in "$@"; do
	if [ ! -d "$here/node_modules/$module" ]; then
		echo "1..0 # SKIP tests/browser/node_modules/$module missing (npm ci --prefix tests/browser)"; exit 0
	fi
done
load=$build/tests/test-load
i=0
while [ $i -lt 180 ] && [ -f "$load.log" ] && [ ! -f "$load.trs" ] &&
	[ -n "$(find "$load.log" -mmin -5 2>/dev/null)" ]; do
	sleep 1
	i=$((i + 1))
done
# A tier that hangs (a browser that never answers) fails after 15 minutes
# instead of stalling make check.
cap="timeout --kill-after=10 900"
command -v timeout >/dev/null 2>&1 || cap=
lock=$build/test-artifacts/.browser-tier.lock
if command -v flock >/dev/null 2>&1 && mkdir -p "$build/test-artifacts"; then
	# shellcheck disable=SC2086 # the test paths hold no spaces
	exec flock "$lock" $cap node --test --test-concurrency=1 --test-reporter=tap $tests
fi
# shellcheck disable=SC2086
exec $cap node --test --test-concurrency=1 --test-reporter=tap $tests
