"""Trust between cardbridged and what surrounds it (issue 14, part 14a).

A real cardbridged (and helper, with a SoftHSM2 token where a card is
needed), tried as an attacker would: another local user, a page nobody
allowed, a page that leaves at the wrong moment, and requests that are
not HTTP/1.1 WebSocket upgrades.  Each test names the item of issue 14 it
covers; doc/SECURITY.md points here for each claim it makes.

Runs as root (CI does): the other user is uid 65534 through `setpriv`, and
the port-taking tests run in a network namespace of their own (`unshare
--net`), so they may use cardbridged's default port 48801 without meeting
anybody else's daemon.  Without root, setpriv or unshare those tests skip.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import cbtest
import softhsm
import tap
from cbtest import ORIGIN, Closed, HandshakeRefused, error_reason, wait_for

hsm = None
NOBODY = 65534
EC = {"type": "EC", "curve": "P-256"}

# A handshake as any program can send it; prints the status line.  Run as
# another uid from "/", so it needs nothing of ours.
RAW_HANDSHAKE = r"""
import base64, os, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), timeout=10)
s.sendall(("GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
           "Origin: https://portal.example\r\nSec-WebSocket-Protocol: cardbridge.v1\r\n\r\n"
           % ("[::1]" if ":" in host else host, port,
              base64.b64encode(os.urandom(16)).decode())).encode())
print(s.recv(4096).split(b"\r\n")[0].decode())
"""


def setup():
    global hsm
    hsm = softhsm.SoftHSM(["trust"])


def teardown():
    if hsm:
        hsm.cleanup()


def need_root(*programs):
    if os.geteuid() != 0:
        raise tap.Skip("needs root (to be another uid, or to make a network namespace)")
    for p in programs:
        if shutil.which(p) is None:
            raise tap.Skip(p + " not installed")


def as_nobody(argv, **kw):
    return subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                           "--clear-groups"] + argv, cwd="/", stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30, **kw)


class Env(cbtest.Dialogs):
    """Dialogs, and a state directory of the test's own (--state-dir)."""

    def __init__(self):
        super().__init__(prefix="cb-trust-", keep_log=True)
        self.state = os.path.join(self.dir, "state")

    def daemon(self, config=None, env=None, args=(), modules=(softhsm.MODULE,), state=True):
        return cbtest.Daemon(modules=modules, config=config,
                             args=(["--state-dir", self.state] if state else []) + list(args),
                             env=dict(self.env(), SOFTHSM2_CONF=hsm.conf, **(env or {})))

    def confirms(self):
        return self.shown().count("CONFIRM")


def refused(d, status=403, **kw):
    try:
        ws = d.connect(**kw)
    except HandshakeRefused as e:
        assert (" %d " % status) in e.status + " ", e.status
        return True
    ws.close()
    return False


def token_uri(ws):
    return [t["uri"] for t in ws.result("tokens.list")["tokens"] if t["label"] == "trust"][0]


# --- item 1: other local users -----------------------------------------------

def test_another_uid_gets_403_and_the_own_uid_is_admitted():
    """Item 1: the Origin header binds browsers only; the kernel tells who connected."""
    need_root("setpriv")
    port6 = cbtest.free_port()
    d = cbtest.Daemon(args=["--listen", "[::1]:%d" % port6])
    try:
        for host, port in (("127.0.0.1", d.port), ("::1", port6)):
            p = as_nobody(["/usr/bin/python3", "-c", RAW_HANDSHAKE, host, str(port)])
            assert p.stdout.decode().startswith("HTTP/1.") and " 403 " in p.stdout.decode(), \
                p.stdout
            mine = subprocess.run(["/usr/bin/python3", "-c", RAW_HANDSHAKE, host, str(port)],
                                  stdout=subprocess.PIPE, timeout=30)
            assert " 101 " in mine.stdout.decode(), mine.stdout
        log = d.read_log()
        assert "the peer is uid %d, not ours" % NOBODY in log, log[-2000:]
    finally:
        d.stop()


def test_under_a_user_namespace_other_uids_read_as_overflow_and_are_refused():
    """Item 1: the systemd unit's PrivateUsers=yes; other uids are 65534 inside."""
    need_root("setpriv", "unshare")
    port = cbtest.free_port()
    log = open(os.path.join(tempfile.mkdtemp(prefix="cb-trust-userns-"), "daemon.log"), "w")
    proc = subprocess.Popen(["unshare", "--user", "--map-root-user", cbtest.DAEMON,
                             "--no-default-config", "--listen", "127.0.0.1:%d" % port,
                             "--helper", cbtest.HELPER, "--allow-origin", ORIGIN,
                             "--control-socket", ""], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for("the daemon in a user namespace", lambda: refused_or_open(port), timeout=10)
        p = as_nobody(["/usr/bin/python3", "-c", RAW_HANDSHAKE, "127.0.0.1", str(port)])
        assert " 403 " in p.stdout.decode(), p.stdout
        ws = cbtest.WS(port)
        assert ws.result("system.hello")["protocol"] == 1
        ws.close()
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        shutil.rmtree(os.path.dirname(log.name), ignore_errors=True)


def refused_or_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


# --- item 2: another uid takes the port first ---------------------------------

HOLD = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.bind((sys.argv[1], 48801))
s.listen()
time.sleep(60)
"""

IN_NETNS = r"""
ip link set lo up || exit 3
if [ -n "$NO_IPV6" ]; then sysctl -qw net.ipv6.conf.lo.disable_ipv6=1 || exit 3; fi
if [ -n "$HOLD_ADDR" ]; then
    setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c "$HOLD" "$HOLD_ADDR" &
    holder=$!
    i=0
    while ! ss -Htln "sport = :48801" | grep -q .; do
        i=$((i + 1)); [ $i -lt 200 ] || exit 3; sleep 0.05
    done
fi
timeout 8 "$DAEMON" --no-default-config --helper "$HELPER" --control-socket "" \
    --allow-origin https://portal.example &
daemon=$!
if [ -z "$HOLD_ADDR" ]; then
    sleep 1.5
    /usr/bin/python3 -c "$HANDSHAKE" 127.0.0.1 48801
    kill $daemon
fi
wait $daemon
echo "rc=$?"
[ -z "$HOLD_ADDR" ] || kill $holder
"""


def in_netns(hold_addr="", no_ipv6=False):
    need_root("setpriv", "unshare", "ip", "ss", "sysctl", "timeout")
    env = dict(os.environ, HOLD=HOLD, HOLD_ADDR=hold_addr, NO_IPV6="1" if no_ipv6 else "",
               DAEMON=cbtest.DAEMON, HELPER=cbtest.HELPER, HANDSHAKE=RAW_HANDSHAKE,
               XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="cb-trust-xdg-"))
    p = subprocess.run(["unshare", "--net", "sh", "-c", IN_NETNS], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    if p.returncode == 3:
        raise tap.Skip("cannot set up a network namespace here")
    return out


def test_another_uid_on_ipv6_loopback_stops_the_start_and_is_named():
    """Item 2: before, cardbridged started anyway on 127.0.0.1 alone."""
    out = in_netns(hold_addr="::1")
    assert "rc=1" in out, out
    assert "[::1]:48801" in out and "uid 65534" in out, out


def test_another_uid_on_ipv4_loopback_stops_the_start_and_is_named():
    """Item 2: the message says who holds the port."""
    out = in_netns(hold_addr="127.0.0.1")
    assert "rc=1" in out, out
    assert "127.0.0.1:48801" in out and "uid 65534" in out, out


def test_a_host_without_ipv6_still_starts_on_ipv4():
    """Item 2: "this host has no IPv6" is the one failure that is not fatal."""
    out = in_netns(no_ipv6=True)
    assert "HTTP/1.1 101" in out, out
    assert "not listening on [::1]:48801 (this host has no IPv6)" in out, out


# --- item 3: --no-default-config means no user state ----------------------------

def test_no_default_config_reads_and_writes_no_user_state():
    """Item 3: the real user's origins.json is neither read nor written."""
    home = tempfile.mkdtemp(prefix="cb-trust-home-")
    xdg = os.path.join(home, ".config")
    os.makedirs(os.path.join(xdg, "cardbridge"))
    listed = "https://listed.example"
    with open(os.path.join(xdg, "cardbridge", "origins.json"), "w") as f:
        json.dump({"allowedOrigins": [listed]}, f)
    before = sorted(os.walk(home))
    env = Env()
    d = cbtest.Daemon(modules=[softhsm.MODULE], state=False,
                      env=dict(env.env(), SOFTHSM2_CONF=hsm.conf, HOME=home,
                               XDG_CONFIG_HOME=xdg, XDG_STATE_HOME=os.path.join(home, "st")))
    try:
        ws = d.connect(origin=listed)
        assert ws.result("system.hello") == {"name": "cardbridge", "protocol": 1}, \
            "the user's origins.json was read"
        env.answers("confirm")      # "Always allow"
        assert ws.result("tokens.list")["tokens"]
        ws.close()
        ws = d.connect(origin="https://other.example")
        env.answers("deny")
        assert error_reason(ws.call("tokens.list")) == "ORIGIN_NOT_ALLOWED"
        ws.close()
    finally:
        d.stop()
    assert sorted(os.walk(home)) == before, "files under HOME changed"
    assert "no user state" in d.read_log()


def test_state_dir_keeps_the_allow_list_and_the_denied_sites():
    """Item 3: tests (and trials) get their own state through --state-dir."""
    env = Env()
    d = env.daemon()
    try:
        env.answers("confirm", "deny")
        ws = d.connect(origin="https://shop.example")
        assert ws.result("tokens.list")["tokens"]
        ws.close()
        ws = d.connect(origin="https://evil.example")
        assert error_reason(ws.call("tokens.list")) == "ORIGIN_NOT_ALLOWED"
        ws.close()
    finally:
        d.stop()
    with open(os.path.join(env.state, "origins.json")) as f:
        assert json.load(f) == {"allowedOrigins": ["https://shop.example"]}
    with open(os.path.join(env.state, "denied.json")) as f:
        until = json.load(f)["deniedSites"]["evil.example"]
    assert 23 * 3600 < until - time.time() <= 24 * 3600, until


# --- item 10: consent spam and the connection budget ------------------------------

def test_deny_covers_the_site_so_subdomains_ask_only_once():
    """Item 10: five subdomains used to get five dialogs."""
    env = Env()
    d = env.daemon()
    try:
        env.answers("deny", "deny", "deny", "deny", "deny")
        ws = d.connect(origin="https://s0.evil.example")
        assert error_reason(ws.call("tokens.list")) == "ORIGIN_NOT_ALLOWED"
        ws.close()
        for i in range(1, 5):
            assert refused(d, origin="https://s%d.evil.example" % i), i
        assert refused(d, origin="https://evil.example:8443")
        assert env.confirms() == 1, env.shown()
        assert not refused(d)   # the allow-listed portal is unaffected
    finally:
        d.stop()


def test_consent_dialogs_come_one_at_a_time():
    """Item 10: the second page's question waits in the daemon for the first to end,
    so it gets its own full prompt time instead of BUSY from the helper's queue."""
    env = Env()
    d = env.daemon(config={"promptTimeoutSeconds": 2})
    try:
        env.answers("hang", "confirm")
        a = d.connect(origin="https://a.example", timeout=30)
        b = d.connect(origin="https://b.example", timeout=30)
        a.send_frame(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tokens.list"}))
        wait_for("the first dialog", lambda: env.confirms() == 1)
        b.send_frame(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tokens.list"}))
        assert error_reason(a.recv()) == "TIMEOUT"
        assert b.recv()["result"]["tokens"]
        assert env.confirms() == 2
        a.close()
        b.close()
    finally:
        d.stop()


def test_unanswered_dialogs_of_a_site_are_not_repeated_for_ten_minutes():
    """Item 10: the rate limit per site: after two unanswered dialogs, no third."""
    env = Env()
    d = env.daemon(config={"promptTimeoutSeconds": 1})
    try:
        env.answers("hang", "hang", "confirm")
        for i in range(2):
            ws = d.connect(origin="https://p%d.pest.example" % i, timeout=30)
            assert error_reason(ws.call("tokens.list")) == "TIMEOUT"
            ws.close()
        ws = d.connect(origin="https://p2.pest.example")
        r = ws.call("tokens.list")
        assert error_reason(r) == "ORIGIN_NOT_ALLOWED" and "too often" in r["error"]["message"], r
        ws.close()
        assert env.confirms() == 2, env.shown()
        ws = d.connect(origin="https://calm.example")   # another site is still asked
        assert ws.result("tokens.list")["tokens"]
        ws.close()
    finally:
        d.stop()


def test_a_deny_outlives_a_restart_and_origins_allow_lifts_it():
    """Item 10: Deny persists (denied.json) and `cardbridge origins allow` undoes it."""
    env = Env()
    runtime = os.path.join(env.dir, "run")
    os.makedirs(runtime, mode=0o700)
    d = env.daemon(env={"XDG_RUNTIME_DIR": runtime})
    try:
        env.answers("deny")
        ws = d.connect(origin="https://a.shop.example")
        assert error_reason(ws.call("tokens.list")) == "ORIGIN_NOT_ALLOWED"
        ws.close()
    finally:
        d.stop()
    d = env.daemon(env={"XDG_RUNTIME_DIR": runtime})
    try:
        assert refused(d, origin="https://b.shop.example"), "the deny was forgotten"
        cli = os.path.join(cbtest.BUILDDIR, "cli", "cardbridge")
        p = subprocess.run([cli, "--control-socket",
                            os.path.join(runtime, "cardbridge", "control"),
                            "origins", "allow", "https://a.shop.example"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10,
                           env=dict(os.environ, XDG_RUNTIME_DIR=runtime))
        assert p.returncode == 0, p.stdout
        ws = d.connect(origin="https://a.shop.example")
        assert "version" in ws.result("system.hello")      # allowed: the whole hello
        ws.close()
        ws = d.connect(origin="https://b.shop.example")    # asked again, not refused
        ws.close()
    finally:
        d.stop()


def test_pages_nobody_allowed_never_take_the_allowed_pages_slots():
    """Item 10: five unconsented connections with maxConnections 5 gave the portal 503."""
    env = Env()
    d = env.daemon(config={"limits": {"maxConnections": 5}})
    held = []
    try:
        for i in range(2):      # at most 2 per site...
            held.append(d.connect(origin="https://flood.example"))
        assert refused(d, status=503, origin="https://www.flood.example")
        for i in range(6):      # ...and 8 in all
            held.append(d.connect(origin="https://f%d.example" % i))
        assert refused(d, status=503, origin="https://f9.example")
        for i in range(5):
            held.append(d.connect())
        assert refused(d, status=503)
        assert held[-1].result("system.hello")["protocol"] == 1
    finally:
        for ws in held:
            ws.close()
        d.stop()


# --- item 11: say less before consent -----------------------------------------

def test_hello_before_consent_says_only_name_and_protocol():
    """Item 11: no version, no module paths (which may name the user), no vendors."""
    env = Env()
    d = env.daemon()
    try:
        ws = d.connect(origin="https://unknown.example")
        assert ws.result("system.hello") == {"name": "cardbridge", "protocol": 1}
        ws.close()
        ws = d.connect()
        hello = wait_for("the helper's modules",
                         lambda: (lambda h: h if h["modules"] else None)(
                             ws.result("system.hello")))
        assert hello["version"] and hello["methods"], hello
        ws.close()
    finally:
        d.stop()


# --- items 12 and 16: HTTP/1.1 only, headers taken whole -------------------------

def raw_status(port, request):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(request)
        return s.recv(4096).split(b"\r\n")[0].decode(errors="replace")
    finally:
        s.close()


def test_an_h2c_upgrade_is_refused():
    """Item 12: `curl --http2` got 101 and then HTTP/2."""
    d = cbtest.Daemon()
    try:
        status = raw_status(d.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                            b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                            b"HTTP2-Settings: AAMAAABkAARAAP__AAIAAAAA\r\n\r\n" % d.port)
        assert status.startswith("HTTP/1.") and " 403 " in status + " ", status
        assert not refused(d)
    finally:
        d.stop()


def test_headers_with_an_embedded_nul_are_refused():
    """Item 12 (Origin) and item 16 (Sec-WebSocket-Protocol): no copy cut at the NUL."""
    d = cbtest.Daemon()
    try:
        assert refused(d, origin=ORIGIN + "\0.evil.example")
        assert refused(d, protocol="cardbridge.v1\0x")
        assert refused(d, host="127.0.0.1:%d\0.evil.example" % d.port)
        assert not refused(d)
    finally:
        d.stop()


# --- item 13: work the page never hears about ------------------------------------

def test_token_changing_notifications_are_refused_silently():
    """Item 13: keys.generate and certificates.install without an id wrote to the token."""
    env = Env()
    d = env.daemon()
    try:
        ws = d.connect()
        uri = token_uri(ws)
        before = hsm.objects("trust")
        env.answers("pin " + softhsm.PIN, "pin " + softhsm.PIN)
        for method, params in (("keys.generate", {"token": uri, "algorithm": EC}),
                               ("certificates.install", {"certificate": "-----BEGIN"})):
            ws.send_frame(json.dumps({"jsonrpc": "2.0", "method": method, "params": params}))
        time.sleep(0.5)
        ws.send_frame(json.dumps({"jsonrpc": "2.0", "id": 5, "method": "system.hello"}))
        assert ws.recv()["id"] == 5, "a notification was answered"
        assert env.shown() == "", env.shown()
        assert hsm.objects("trust") == before
        log = d.read_log()
        assert "keys.generate sent as a notification (no id): refused" in log, log[-2000:]
        ws.close()
    finally:
        d.stop()


def keygen_then_leave(env, d):
    """Send keys.generate and close the socket once the PIN was typed."""
    ws = d.connect()
    uri = token_uri(ws)
    ws.send_frame(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "keys.generate",
                              "params": {"token": uri, "algorithm": EC, "label": "left"}}))
    wait_for("the PIN dialog", lambda: "GETPIN" in env.shown())
    ws.sock.close()


def test_a_key_pair_made_after_the_page_left_is_removed():
    """Item 13: the page closed after the PIN; the helper removes the pair before logout."""
    env = Env()
    d = env.daemon(env={"CB_HELPER_TESTING": "1", "CB_HELPER_FAULT": "pause-after-keygen"})
    try:
        before = hsm.objects("trust")
        env.answers("pin " + softhsm.PIN)
        keygen_then_leave(env, d)
        wait_for("the helper's answer",
                 lambda: "keys.generate: USER_CANCELLED" in d.read_log(), timeout=30)
        assert hsm.objects("trust") == before
    finally:
        d.stop()


def test_a_key_pair_whose_answer_crossed_the_close_is_abandoned():
    """Item 13: the answer was on its way when the page left: keys.abandon removes it."""
    env = Env()
    d = env.daemon(env={"CB_HELPER_TESTING": "1", "CB_HELPER_FAULT": "ignore-cancel"})
    try:
        before = hsm.objects("trust")
        env.answers("pin " + softhsm.PIN, "pin " + softhsm.PIN)
        keygen_then_leave(env, d)
        wait_for("the removal", lambda: "the unused key pair: removed" in d.read_log(),
                 timeout=30)
        assert hsm.objects("trust") == before
        assert "it never received" in env.shown(), env.shown()
    finally:
        d.stop()


# --- item 15: sockets that never become WebSockets --------------------------------

def test_connect_request_lines_are_closed_at_once():
    """Item 15: lws adopts them as raw sockets, which stayed open for ever."""
    d = cbtest.Daemon(config={"limits": {"maxConnections": 5}})
    socks = []
    try:
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
            s.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            socks.append(s)
        for i, s in enumerate(socks):
            s.settimeout(2 if i == 0 else 0.5)
            assert s.recv(4096) == b"", "answered instead of closed"
        assert not refused(d)
    finally:
        for s in socks:
            s.close()
        d.stop()


# --- item 16: the idle close says why ----------------------------------------------

def test_the_idle_timeout_sends_close_1001_idle():
    """Item 16: the page saw 1006 (a bare TCP drop)."""
    d = cbtest.Daemon(config={"limits": {"idleTimeoutSeconds": 1}})
    try:
        ws = d.connect()
        ws.result("system.hello")
        ws.sock.settimeout(6)
        try:
            ws.recv()
            raise AssertionError("an idle connection got a message")
        except Closed as e:
            assert (e.code, e.reason) == (1001, "idle"), (e.code, e.reason)
    finally:
        d.stop()


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, softhsm.missing)
