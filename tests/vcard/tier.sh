# tier.sh - sourceable bash library: the TAP plumbing both virtual-card tiers
# (test-vcard.sh, test-vcard-isoapplet.sh) share.
#
#   . tests/vcard/tier.sh
#   tier_need pcscd pkcs11-tool ...   # "1..0 # SKIP why" and exit 0 if missing
#   tier_start NAME                   # $work, the EXIT trap, the plan
#   check "what" command args...      # one ok / not ok line
#
# A skip exits 0 with "1..0 # SKIP why", which the TAP driver counts as a
# skip (it would count exit status 77 as an error).  The plan comes at the
# end; the tier's exit status is 1 if a check failed.  VCARD_TEST_KEEP=1
# keeps the work directory (logs, state, keys); a failure keeps it too.

# $module: the OpenSC PKCS#11 module, $PKCS11_MODULE if set.
module=${PKCS11_MODULE:-}
if [ -z "$module" ]; then
	for module in /usr/lib/*/opensc-pkcs11.so /usr/lib64/opensc-pkcs11.so \
		/usr/lib/opensc-pkcs11.so; do
		[ -e "$module" ] && break
	done
fi

skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

# tier_need TOOL...: skip unless every tool, vpcd and the module are here.
tier_need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed"
	done
	[ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ] || skip "vsmartcard-vpcd not installed"
	[ -e "$module" ] || skip "OpenSC PKCS#11 module $module not found"
}

failures=0
count=0

_tier_cleanup() {
	echo "1..$count"
	pcsc_env_stop
	if [ "${VCARD_TEST_KEEP:-0}" = 1 ] || [ $failures -ne 0 ]; then
		echo "# work directory kept: $work"
	else
		rm -rf "$work"
	fi
}

# tier_start NAME: the work directory $work and the EXIT trap that prints
# the plan and stops the private pcscd (pcsc-env.sh).
tier_start() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap _tier_cleanup EXIT
}

ok() {
	count=$((count + 1))
	echo "ok $count - $*"
}

not_ok() {
	count=$((count + 1))
	failures=$((failures + 1))
	echo "not ok $count - $*"
}

# check DESCRIPTION COMMAND...: one ok/not ok line from a command's status;
# its output goes to $work/last.out and is shown on failure.
check() {
	local what=$1
	shift
	if "$@" >"$work/last.out" 2>&1; then
		ok "$what"
	else
		not_ok "$what"
		sed 's/^/#   /' "$work/last.out"
	fi
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# p11 ARGS...: pkcs11-tool on the OpenSC module, bounded so a hang fails.
p11() {
	timeout 30 pkcs11-tool --module "$module" "$@"
}
