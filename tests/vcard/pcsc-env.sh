# pcsc-env.sh - sourceable bash library for test tiers that need a smart card:
# a private pcscd with the vsmartcard vpcd driver on its own TCP port and its
# own socket, an opensc.conf tuned for the virtual card, and cardbridge-vcard
# (the virtual OpenPGP card, or with --personality isoapplet a Java Card
# with IsoApplet) plugged into it.
#
#   . tests/vcard/pcsc-env.sh
#   pcsc_env_start "$dir"              # pcscd up; exports PCSCLITE_CSOCK_NAME,
#                                      # OPENSC_CONF, PCSC_ENV_PORT
#   vcard_start "$dir" --state "$dir/card.state"   # card present in reader 0
#   ... pkcs11-tool / opensc-tool / the daemon under test ...
#   vcard_stop                         # "remove" the card (SIGTERM)
#   pcsc_env_stop                      # everything this library started
#
# The IsoApplet card leaves the factory empty; personalise it as an issuer
# would (PKCS#15 structure, user PIN, PUK) before OpenSC shows a token:
#
#   vcard_start "$dir" --personality isoapplet --state "$dir/card.state"
#   vcard_personalise_isoapplet "$dir"   # user PIN $VCARD_USER_PIN, PUK $VCARD_PUK
#   pcsc_env_opensc_conf "$dir/unblock.conf" \
#       'user_pin_unblock_style = set_pin_in_unlogged_session;'
#
# Why a launcher: pcsc-lite 1.9.9's client library honours PCSCLITE_CSOCK_NAME
# but pcscd itself always binds /run/pcscd/pcscd.comm unless it is socket
# activated, so cardbridge-pcscd-launch hands it a listening socket in $dir.
# The system pcscd (if any) is never touched: other socket, other vpcd port.
#
# Never relies on systemd; every wait is bounded and fails with a message.
# Functions return non-zero on failure and print why on stderr; they do not
# exit, so a test can report "not ok" and clean up. Safe to source from a
# script running under set -eu.
#
# Knobs (environment): VCARD_BIN, VCARD_LAUNCH_BIN (program paths; else
# found via CB_VCARD / CB_BUILDDIR from make check, or the build tree),
# PCSC_ENV_PORT (fixed vpcd port, reader 1 uses +1), PCSC_ENV_TIMEOUT (s, 10),
# VCARD_READER (0 or 1: which vpcd reader vcard_start plugs into).

PCSC_ENV_VPCD_DRIVER=${PCSC_ENV_VPCD_DRIVER:-/usr/lib/pcsc/drivers/serial/libifdvpcd.so}

# The secrets of the virtual cards, as tests/pcscenv.py has them. The
# OpenPGP card ships with the user and admin PIN; the IsoApplet card gets
# the user PIN and the PUK from vcard_personalise_isoapplet. IsoApplet's
# PUK is exactly 16 characters (OpenSC's isoApplet profile and the applet
# both refuse another length), so it cannot be the 8-digit admin PIN.
VCARD_USER_PIN=123456
VCARD_ADMIN_PIN=12345678
VCARD_PUK=1234567812345678
VCARD_LABEL="cardbridge test"
export VCARD_USER_PIN VCARD_ADMIN_PIN VCARD_PUK VCARD_LABEL
PCSC_ENV_TIMEOUT=${PCSC_ENV_TIMEOUT:-10}
PCSC_ENV_PCSCD_PID=
PCSC_ENV_DIR=
VCARD_PID=
VCARD_PIDS=()
declare -A VCARD_READER_OF=()

_pcsc_env_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_pcsc_env_log() {
	echo "pcsc-env: $*" >&2
}

# Find a program built by make: beside $CB_VCARD (set by make check), in
# the build tree ($CB_BUILDDIR, or the current directory when make check
# runs from the top build directory), or next to this file.
_pcsc_env_find() {
	local name=$1 candidate
	for candidate in ${CB_VCARD:+"$(dirname "$CB_VCARD")/$name"} \
		${CB_BUILDDIR:+"$CB_BUILDDIR/tests/vcard/$name"} \
		"$PWD/tests/vcard/$name" "$_pcsc_env_here/$name"; do
		if [ -x "$candidate" ]; then
			echo "$candidate"
			return 0
		fi
	done
	return 1
}

# True when something listens on TCP port $1 (IPv4 or IPv6). Reads /proc
# instead of connecting, because a connection to vpcd is taken for a card.
_pcsc_env_listening() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
		END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

_pcsc_env_now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# _pcsc_env_wait SECONDS DESCRIPTION COMMAND...: poll COMMAND every 50 ms.
_pcsc_env_wait() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$(($(_pcsc_env_now_ms) + secs * 1000))
	until "$@"; do
		if [ "$(_pcsc_env_now_ms)" -ge "$deadline" ]; then
			_pcsc_env_log "timed out after ${secs}s waiting for $what"
			return 1
		fi
		sleep 0.05
	done
}

_pcsc_env_pick_port() {
	local port tries=0
	if [ -n "${PCSC_ENV_PORT:-}" ]; then
		echo "$PCSC_ENV_PORT"
		return 0
	fi
	while [ $tries -lt 50 ]; do
		# even ports 20000..32766: below Linux's ephemeral range, so no
		# outgoing connection holds the port vpcd has to bind
		port=$((20000 + (RANDOM % 6384) * 2))
		if ! _pcsc_env_listening "$port" && ! _pcsc_env_listening $((port + 1)); then
			echo "$port"
			return 0
		fi
		tries=$((tries + 1))
	done
	return 1
}

_pcsc_env_write_conf() {
	local dir=$1 port=$2
	mkdir -p "$dir/reader.conf.d" || return 1
	cat >"$dir/reader.conf.d/vpcd" <<EOF
# written by pcsc-env.sh: vpcd readers 0 and 1 listen on ports $port and $((port + 1))
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$port
LIBPATH      $PCSC_ENV_VPCD_DRIVER
CHANNELID    $port
EOF
	pcsc_env_opensc_conf "$dir/opensc.conf"
}

# pcsc_env_opensc_conf FILE [PKCS11-SETTINGS]: write an opensc.conf for the
# virtual cards, optionally with settings for OpenSC's PKCS#11 module (its
# "pkcs11" block), e.g. 'user_pin_unblock_style = init_pin_in_so_session;'.
# Point OPENSC_CONF at it for the commands that should see it.
#
# card_drivers: openpgp first so the OpenPGP card is matched by its first
# SELECT, isoApplet next (one SELECT more for the IsoApplet card), the
# internal list after them so an unknown card still gets a driver.
pcsc_env_opensc_conf() {
	local file=$1 pkcs11=${2:-}
	{
		echo "# written by pcsc-env.sh for the virtual cards"
		if [ -n "$pkcs11" ]; then
			printf 'app opensc-pkcs11 {\n\tpkcs11 {\n\t\t%s\n\t}\n}\n' "$pkcs11"
		fi
		cat <<EOF
app default {
	debug = 0;
	card_drivers = openpgp, isoApplet, internal;
	reader_driver pcsc {
		enable_pinpad = false;
	}
	framework pkcs15 {
		use_file_caching = no;
	}
}
EOF
	} >"$file"
}

_pcsc_env_pcscd_up() {
	kill -0 "$PCSC_ENV_PCSCD_PID" 2>/dev/null &&
		[ -S "$PCSCLITE_CSOCK_NAME" ] && _pcsc_env_listening "$PCSC_ENV_PORT"
}

_pcsc_env_gone() {
	! kill -0 "$1" 2>/dev/null
}

# pcsc_env_start DIR: private pcscd on a free port pair, opensc.conf in DIR.
pcsc_env_start() {
	local dir=$1 launch port
	if [ -z "$dir" ] || ! mkdir -p "$dir"; then
		_pcsc_env_log "pcsc_env_start needs a writable directory"
		return 1
	fi
	dir=$(cd "$dir" && pwd)
	if ! command -v pcscd >/dev/null 2>&1 || [ ! -e "$PCSC_ENV_VPCD_DRIVER" ]; then
		_pcsc_env_log "pcscd or the vpcd driver ($PCSC_ENV_VPCD_DRIVER) is not installed"
		return 1
	fi
	if ! launch=${VCARD_LAUNCH_BIN:-$(_pcsc_env_find cardbridge-pcscd-launch)}; then
		_pcsc_env_log "cardbridge-pcscd-launch not built (run make check, or set VCARD_LAUNCH_BIN)"
		return 1
	fi
	if ! port=$(_pcsc_env_pick_port); then
		_pcsc_env_log "no free TCP port pair for vpcd"
		return 1
	fi
	_pcsc_env_write_conf "$dir" "$port" || return 1
	PCSC_ENV_DIR=$dir
	PCSC_ENV_PORT=$port
	export PCSC_ENV_PORT
	export PCSCLITE_CSOCK_NAME="$dir/pcscd.comm"
	export OPENSC_CONF="$dir/opensc.conf"
	"$launch" "$PCSCLITE_CSOCK_NAME" pcscd --foreground -c "$dir/reader.conf.d" \
		>>"$dir/pcscd.log" 2>&1 </dev/null &
	PCSC_ENV_PCSCD_PID=$!
	if ! _pcsc_env_wait "$PCSC_ENV_TIMEOUT" "pcscd/vpcd to listen on port $port" \
		_pcsc_env_pcscd_up; then
		_pcsc_env_log "pcscd log ($dir/pcscd.log):"
		tail -n 20 "$dir/pcscd.log" >&2
		pcsc_env_stop
		return 1
	fi
}

_pcsc_env_card_absent() {
	! opensc-tool -r "$1" -a >/dev/null 2>&1
}

_pcsc_env_card_present() {
	local reader=$1 pid=$2
	if ! kill -0 "$pid" 2>/dev/null; then
		return 2
	fi
	opensc-tool -r "$reader" -a >/dev/null 2>&1
}

# vcard_start DIR [cardbridge-vcard options]: start the card and wait until
# pcscd reports it present (opensc-tool prints its ATR). Sets VCARD_PID.
vcard_start() {
	local dir=$1 bin reader=${VCARD_READER:-0}
	shift
	if [ -z "$PCSC_ENV_PCSCD_PID" ]; then
		_pcsc_env_log "vcard_start: call pcsc_env_start first"
		return 1
	fi
	if ! bin=${VCARD_BIN:-$(_pcsc_env_find cardbridge-vcard)}; then
		_pcsc_env_log "cardbridge-vcard not built (run make check, or set VCARD_BIN)"
		return 1
	fi
	"$bin" --port $((PCSC_ENV_PORT + reader)) "$@" >>"$dir/vcard.log" 2>&1 </dev/null &
	VCARD_PID=$!
	VCARD_PIDS+=("$VCARD_PID")
	VCARD_READER_OF[$VCARD_PID]=$reader
	if ! _pcsc_env_wait "$PCSC_ENV_TIMEOUT" "the virtual card in reader $reader" \
		_pcsc_env_card_present "$reader" "$VCARD_PID"; then
		if ! kill -0 "$VCARD_PID" 2>/dev/null; then
			_pcsc_env_log "cardbridge-vcard exited early; its log ($dir/vcard.log):"
			tail -n 20 "$dir/vcard.log" >&2
		fi
		return 1
	fi
}

# Drop a card process from the bookkeeping once it is gone.
_pcsc_env_forget() {
	local pid=$1 p kept=()
	for p in "${VCARD_PIDS[@]}"; do
		[ "$p" = "$pid" ] || kept+=("$p")
	done
	VCARD_PIDS=("${kept[@]}")
	unset "VCARD_READER_OF[$pid]"
}

# vcard_personalise_isoapplet DIR [pkcs15-init options]: personalise the
# IsoApplet card in the reader as a card issuer would, with OpenSC's own
# pkcs15-init and its isoApplet profile: a PKCS#15 application labelled
# $VCARD_LABEL whose one PIN ("User PIN", reference 01) is $VCARD_USER_PIN
# with the PUK $VCARD_PUK. (The profile calls them so-pin / so-puk; OpenSC's
# PKCS#11 module shows that PIN as the user PIN.) Extra options go to
# pkcs15-init, e.g. --serial 0123. Output: DIR/personalise.log.
vcard_personalise_isoapplet() {
	local dir=$1
	shift
	if ! command -v pkcs15-init >/dev/null 2>&1; then
		_pcsc_env_log "pkcs15-init (OpenSC) is not installed"
		return 1
	fi
	if ! timeout 60 pkcs15-init --create-pkcs15 --so-pin "$VCARD_USER_PIN" \
		--so-puk "$VCARD_PUK" --label "$VCARD_LABEL" "$@" \
		>>"$dir/personalise.log" 2>&1 </dev/null; then
		_pcsc_env_log "pkcs15-init --create-pkcs15 failed; its output ($dir/personalise.log):"
		tail -n 20 "$dir/personalise.log" >&2
		return 1
	fi
}

# vcard_wait PID [SECONDS]: wait for a process started here to end by itself
# and return its exit status (124 if it still runs after SECONDS). Callers
# under set -e: vcard_wait ... || rc=$?
vcard_wait() {
	local pid=$1 secs=${2:-$PCSC_ENV_TIMEOUT} rc=0
	if ! _pcsc_env_wait "$secs" "process $pid to exit" _pcsc_env_gone "$pid"; then
		return 124
	fi
	wait "$pid" 2>/dev/null || rc=$?
	_pcsc_env_forget "$pid"
	return $rc
}

# vcard_wait_absent [READER]: wait until pcscd has noticed that the card is
# gone. pcscd polls vpcd about every 400 ms, so right after a card process
# ends the reader still shows it; starting the next card before this would
# let a client see the removal event of the old one.
vcard_wait_absent() {
	_pcsc_env_wait "$PCSC_ENV_TIMEOUT" "reader ${1:-0} to report no card" \
		_pcsc_env_card_absent "${1:-0}"
}

# vcard_stop [PID]: remove a card (default: the last one started), i.e. stop
# its process and wait until pcscd reports its reader empty. A card that
# already ended (vcard_wait) is left alone.
vcard_stop() {
	local pid=${1:-$VCARD_PID} reader
	[ -n "$pid" ] && [ -n "${VCARD_READER_OF[$pid]:-}" ] || return 0
	reader=${VCARD_READER_OF[$pid]}
	kill -TERM "$pid" 2>/dev/null || true
	if ! _pcsc_env_wait 5 "card $pid to stop" _pcsc_env_gone "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	_pcsc_env_forget "$pid"
	if [ -n "$PCSC_ENV_PCSCD_PID" ]; then
		vcard_wait_absent "$reader"
	fi
}

# pcsc_env_stop: stop every card and the pcscd started here, by PID.
pcsc_env_stop() {
	local pid
	for pid in "${VCARD_PIDS[@]}"; do
		vcard_stop "$pid" || true
	done
	VCARD_PID=
	if [ -n "$PCSC_ENV_PCSCD_PID" ]; then
		kill -TERM "$PCSC_ENV_PCSCD_PID" 2>/dev/null || true
		if ! _pcsc_env_wait 5 "pcscd to stop" _pcsc_env_gone "$PCSC_ENV_PCSCD_PID"; then
			_pcsc_env_log "pcscd did not stop on SIGTERM; killing it"
			kill -KILL "$PCSC_ENV_PCSCD_PID" 2>/dev/null || true
		fi
		wait "$PCSC_ENV_PCSCD_PID" 2>/dev/null || true
		PCSC_ENV_PCSCD_PID=
	fi
	if [ -n "$PCSC_ENV_DIR" ]; then
		rm -f "$PCSC_ENV_DIR/pcscd.comm"
	fi
	return 0
}
