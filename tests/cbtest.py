"""Fixtures for cardbridge's black-box tests: a daemon, a WebSocket client,
the scripted PIN dialogs, and the runner a test file ends with.

The client is deliberately raw (RFC 6455 over a plain socket) so tests can
send exactly what a browser or a hostile page would: any Origin and Host
header, fragmented, binary or oversized frames, invalid UTF-8.
Use Debian's /usr/bin/python3.
"""
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import tap

SRCDIR = os.environ.get("CB_SRCDIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("CB_BUILDDIR", SRCDIR)
DAEMON = os.environ.get("CB_DAEMON", os.path.join(BUILDDIR, "daemon", "cardbridged"))
HELPER = os.environ.get("CB_HELPER", os.path.join(BUILDDIR, "pkcs11", "cardbridge-pkcs11-helper"))
FAKE_PINENTRY = os.path.join(SRCDIR, "tests", "fake-pinentry")
SOFTHSM_MODULE = "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"
ORIGIN = "https://portal.example"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class HandshakeRefused(Exception):
    def __init__(self, status, text):
        super().__init__("handshake refused: %s" % status)
        self.status = status
        self.text = text


class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__("closed %s %r" % (code, reason))
        self.code = code
        self.reason = reason


class WS:
    """A minimal RFC 6455 client."""

    def __init__(self, port, origin=ORIGIN, host=None, protocol="cardbridge.v1",
                 path="/", timeout=10, extra_headers=()):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path,
                 "Host: %s" % (host if host is not None else "127.0.0.1:%d" % port),
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if origin is not None:
            lines.append("Origin: " + origin)
        if protocol is not None:
            lines.append("Sec-WebSocket-Protocol: " + protocol)
        lines.extend(extra_headers)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_head()
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 101 " not in status + " ":
            raise HandshakeRefused(status, head.decode(errors="replace"))
        self.next_id = 1

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                if self.buf:
                    break
                raise HandshakeRefused("connection closed", "")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return head

    def send_frame(self, payload, opcode=1, fin=True):
        if isinstance(payload, str):
            payload = payload.encode()
        mask = os.urandom(4)
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else \
            _xor_fast(payload, mask)
        self.sock.sendall(head + mask + masked)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(1006, "connection dropped")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        b0, b1 = self._need(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        return b0 & 0x0f, self._need(n)

    def recv(self):
        """Next text message as a dict; raises Closed on a close frame."""
        while True:
            op, data = self.recv_frame()
            if op == 8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                raise Closed(code, data[2:].decode(errors="replace"))
            if op == 9:
                self.send_frame(data, opcode=10)
                continue
            if op == 1:
                return json.loads(data)

    def call_with_progress(self, request_id, method, params=None):
        """Send a request; (the params of its progress notifications in order, its
        answer).  Every progress before the answer must be this request's, and a
        notification (it has no "id" of its own)."""
        msg = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_frame(json.dumps(msg))
        progress = []
        while True:
            msg = self.recv()
            if msg.get("method") == "progress":
                assert msg["params"]["id"] == request_id and "id" not in msg, msg
                progress.append(msg["params"])
            elif msg.get("id") == request_id:
                return progress, msg

    def next_within(self, seconds):
        """The next message if one arrives within seconds, else None."""
        timeout = self.sock.gettimeout()
        self.sock.settimeout(seconds)
        try:
            return self.recv()
        except (socket.timeout, TimeoutError):
            return None
        finally:
            self.sock.settimeout(timeout)

    def recv_answer(self):
        """Next message that is not a progress notification (keys.generate and
        certificates.install send those before their answer)."""
        while True:
            msg = self.recv()
            if msg.get("method") != "progress":
                return msg

    def answer_if_any(self, wait=0.05):
        """The next message that is not progress, if one arrives within wait seconds."""
        timeout = self.sock.gettimeout()
        self.sock.settimeout(wait)
        try:
            return self.recv_answer()
        except (TimeoutError, BlockingIOError, OSError):
            return None
        finally:
            self.sock.settimeout(timeout)

    def call(self, method, params=None, id=None):
        if id is None:
            id = self.next_id
            self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_frame(json.dumps(msg))
        while True:
            reply = self.recv()
            if reply.get("id") == id:
                return reply

    def result(self, method, params=None):
        reply = self.call(method, params)
        if "error" in reply:
            raise AssertionError("%s failed: %r" % (method, reply["error"]))
        return reply["result"]

    def close(self):
        try:
            self.send_frame(struct.pack("!H", 1000), opcode=8)
        except OSError:
            pass
        self.sock.close()


def _xor_fast(payload, mask):
    n = len(payload)
    m = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big")


def error_reason(reply):
    return reply["error"]["data"]["reason"]


class Daemon:
    """A cardbridged on a free port with its own config, log file and user state
    (--state-dir in its directory; state=False: none at all, as
    --no-default-config alone means)."""

    def __init__(self, origins=(ORIGIN,), args=(), config=None, env=None, modules=(),
                 pinentry=None, log_level="debug", state=True):
        self.dir = tempfile.mkdtemp(prefix="cbtest-")
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "daemon.log")
        cmd = [DAEMON, "--no-default-config", "--listen", "127.0.0.1:%d" % self.port,
               "--helper", HELPER, "--log-level", log_level]
        if state:
            cmd += ["--state-dir", os.path.join(self.dir, "state")]
        if pinentry is None:
            pinentry = FAKE_PINENTRY
        cmd += ["--pinentry", pinentry]
        for o in origins:
            cmd += ["--allow-origin", o]
        for m in modules:
            cmd += ["--module", m]
        if config is not None:
            path = os.path.join(self.dir, "config.json")
            with open(path, "w") as f:
                json.dump(config, f) if not isinstance(config, str) else f.write(config)
            cmd += ["--config", path]
        cmd += list(args)
        self.env = dict(os.environ)
        self.env["XDG_CONFIG_HOME"] = os.path.join(self.dir, "xdg")
        self.env.update(env or {})
        # The helper's journal of unfinished clean-ups (pkcs11/cleanup.c) goes
        # here, never to the user's, unless the test chose a directory itself.
        if self.env.get("XDG_STATE_HOME") == os.environ.get("XDG_STATE_HOME"):
            self.env["XDG_STATE_HOME"] = os.path.join(self.dir, "state")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=self.env)
        self.wait_ready()

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("cardbridged exited %s:\n%s" % (self.proc.returncode,
                                                                   self.read_log()[-3000:]))
            try:
                ws = WS(self.port)
            except HandshakeRefused:
                return      # listening; this origin is simply not allowed here
            except OSError:
                time.sleep(0.02)
                continue
            ws.close()
            return
        raise RuntimeError("cardbridged did not start:\n" + self.read_log()[-3000:])

    def connect(self, **kw):
        return WS(self.port, **kw)

    def read_log(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def run_daemon_expect_failure(args, timeout=10):
    """Run cardbridged expecting it to refuse to start; returns (rc, output)."""
    p = subprocess.run([DAEMON, "--no-default-config", "--helper", HELPER] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       env=dict(os.environ, XDG_CONFIG_HOME=tempfile.mkdtemp()))
    return p.returncode, p.stdout.decode(errors="replace")


class Dialogs:
    """The script and the log of tests/fake-pinentry (see its docstring), in a
    temporary directory of their own; env() points a daemon at them.

    answers() queues the answers for the next dialogs and starts a fresh log,
    so that shown() is what the user saw since; with keep_log=True the log
    keeps every dialog since the Dialogs was made."""

    def __init__(self, prefix="cb-pin-", keep_log=False):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.script = os.path.join(self.dir, "script")
        self.log = os.path.join(self.dir, "pinentry.log")
        self.keep_log = keep_log
        open(self.log, "w").close()
        self.answers()

    def answers(self, *actions):
        with open(self.script, "w") as f:
            f.write("".join(a + "\n" for a in actions))
        if not self.keep_log:
            open(self.log, "w").close()

    def shown(self):
        with open(self.log, encoding="utf-8") as f:
            return f.read()

    def lines(self, command):
        """What the dialogs showed for one pinentry command, in order."""
        return [line[len(command) + 1:] for line in self.shown().splitlines()
                if line.startswith(command + " ")]

    def env(self):
        return {"CB_PINENTRY_SCRIPT": self.script, "CB_PINENTRY_LOG": self.log}

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(what, predicate, timeout=20, interval=0.01):
    """Poll predicate until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


# --- processes and requests, for the tiers that inject faults -----------------

def children(parent, needle):
    """PIDs of the processes whose parent is `parent` and whose command line has `needle`."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and needle in cmd:
            found.append(int(name))
    return found


def helper_of(daemon):
    pids = wait_for("the helper", lambda: children(daemon.proc.pid, b"pkcs11-helper"))
    assert len(pids) == 1, pids
    return pids[0]


def pinentry_of(helper):
    return children(helper, b"fake-pinentry")


def send(ws, id, method, params):
    ws.send_frame(json.dumps({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))


def reply_to(ws, id, timeout=60):
    """The answer to request id; notifications and other answers are skipped."""
    ws.sock.settimeout(timeout)
    while True:
        msg = ws.recv()
        if msg.get("id") == id:
            return msg


def pending(ws):
    """A message already waiting on ws, or None; progress notifications skipped."""
    msg = ws.answer_if_any(wait=0.0)
    ws.sock.settimeout(60)
    return msg


def run_tests(namespace, setup, teardown, missing, programs=(HELPER,), order=None):
    """tap.run, unless missing() names what is not installed or one of the
    programs is not built: then the whole file skips."""
    why = missing()
    if why:
        tap.skip_all(why)
    for program in programs:
        if not os.access(program, os.X_OK):
            tap.skip_all(os.path.basename(program) + " not built")
    tap.run(namespace, setup, teardown, order)
