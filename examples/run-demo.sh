#!/usr/bin/env bash
# Run cardbridged in the foreground with a demo SoftHSM2 token, and serve the
# demo portal with its DEMO certificate authority (examples/demo-ca.py) on
# http://127.0.0.1:8080 (a loopback origin, so no browser permission is
# needed).  Demo only: the token, its PINs and the CA are fake.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
STATE=${XDG_STATE_HOME:-$HOME/.local/state}/cardbridge-demo
PORT=${CARDBRIDGE_DEMO_PORT:-8080}
HELPER_PORT=${CARDBRIDGE_DEMO_HELPER_PORT:-48801}
SOFTHSM_MODULE=/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so
mkdir -p "$STATE/tokens"
chmod 700 "$STATE"
export SOFTHSM2_CONF="$STATE/softhsm2.conf"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$STATE" > "$SOFTHSM2_CONF"
if ! softhsm2-util --show-slots 2>/dev/null | grep -q "cardbridge demo"; then
	softhsm2-util --init-token --free --label "cardbridge demo" \
		--so-pin 12345678 --pin 123456 >/dev/null
fi

# Another cardbridged on the helper port (an installed one, started by a
# cardbridge:// link or its socket unit) would make ours fail: say which and
# what to do, before anything starts.
holder=$(ss -Hltnp "sport = :$HELPER_PORT" 2>/dev/null | head -n1 || true)
if [ -n "$holder" ]; then
	pid=$(printf '%s\n' "$holder" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
	exe=$( [ -n "$pid" ] && readlink "/proc/$pid/exe" 2>/dev/null || true)
	cat >&2 <<TXT
cannot start the demo: 127.0.0.1:$HELPER_PORT is already held by ${exe:-another program}${pid:+ (pid $pid)}.
TXT
	if [ "${exe##*/}" = cardbridged ]; then
		cat >&2 <<'TXT'
That is an installed cardbridged (started by a cardbridge:// link or by its
socket unit); the demo needs its own, with the demo token. Stop it with
  systemctl --user stop cardbridge.socket cardbridge.service
(or kill the pid above) and run ./dev demo again, or give the demo another
port: CARDBRIDGE_DEMO_HELPER_PORT=48802 ./dev demo
TXT
	fi
	exit 1
fi

# The demo portal, the client library and the DEMO CA, all from one loopback
# server (examples/demo-ca.py); the CA's key is kept in $STATE/ca.
/usr/bin/python3 "$TOP/examples/demo-ca.py" --port "$PORT" --bind 127.0.0.1 \
	--helper-port "$HELPER_PORT" --state "$STATE/ca" --quiet &
web=$!
trap 'kill $web 2>/dev/null' EXIT

pinentry=pinentry
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -t 0 ]; then
	export GPG_TTY=$(tty)
	pinentry=pinentry-curses
fi
cat <<TXT

  cardbridge demo
  ---------------
  Portal:      http://127.0.0.1:$PORT/ (cardbridged on 127.0.0.1:$HELPER_PORT)
  Demo CA:     examples/demo-ca.py (DEMO ONLY: signs any request; key in $STATE/ca)
  Demo token:  "cardbridge demo" (SoftHSM2), user PIN 123456, SO PIN 12345678
  PIN dialogs: $pinentry
  Stop:        Ctrl-C

TXT
"$TOP/daemon/cardbridged" --foreground --no-default-config \
	--listen "127.0.0.1:$HELPER_PORT" --allow-origin "http://127.0.0.1:$PORT" \
	--allow-origin "http://localhost:$PORT" \
	--module "$SOFTHSM_MODULE" --helper "$TOP/pkcs11/cardbridge-pkcs11-helper" \
	--pinentry "$pinentry"
