"""Load (issue 8, part 4): many connections, many requests, slow and churning
clients, against one cardbridged with limits.maxConnections 1100.

  1. 1,000 WebSocket connections held open at once, each answered;
  2. 100,000 system.hello requests from WORKERS client processes
     (non-blocking sockets, a few requests in flight per connection) while
     the 1,000 stay open;
  3. the connection limit holds: the 1,101st handshake gets 503, and a slot
     freed is usable again;
  4. slowloris: SLOW connections send their handshake one byte a second;
     they are cut at limits.handshakeTimeoutSeconds while others are served;
  5. churn: thousands of connect / hello / close cycles, bare TCP connects
     and connections reset after the handshake;
  6. memory: the daemon's VmRSS after the load, once settled, is within
     RSS_SLACK of its RSS before the load.

A probe in this process sends one system.hello at a time on its own
connection throughout phases 2, 4 and 5 and records each round trip; the
p50/p99 figures are printed as TAP comments.  The load processes run at
nice 10, so that the figures describe the daemon rather than the Python
clients competing for the same two cores.  No timing is asserted here but
"never starved" (STARVED_MS, far from any noise): the latency targets live
in bench/ (make bench), where they are measured as ratios on a quiet machine.
"""
import multiprocessing
import os
import resource
import selectors
import socket
import struct
import threading
import time

import cbtest
import tap
from cbtest import ORIGIN, HandshakeRefused

HELD = 1000
MAX_CONNECTIONS = 1100
REQUESTS = 100000
WORKERS = 4
CONNS_PER_WORKER = 16
WINDOW = 4                  # requests in flight per load connection
HANDSHAKE_TIMEOUT = 2
SLOW = 300
CHURN_WORKERS = 3
CHURN_CYCLES = 2000         # per churn worker
RSS_SLACK_KIB = 2048
PACED_RATE = 10000          # requests per second, all processes together
TICK = 0.002                # the paced load sends its requests in 2 ms steps
SATURATED = "100,000 requests, saturating"
PACED = "100,000 requests at 10,000/s"
# The p99 figures are printed, not asserted (make check runs other tiers
# beside this one, on any machine).  At 10,000 requests/s the daemon is
# close to saturation on a 2-core machine; under the saturating load the
# probe queues behind up to 256 requests in flight.  (With lws's own poll()
# loop, CB_EVENT_LOOP=poll, each request also costs a poll() over every
# connection: with 1,000 idle ones system.hello took ~0.2 ms at p50 instead
# of ~0.05 ms; on libuv, daemon/evloop.c, the two are close.)
STARVED_MS = 5000.0          # a probe request waiting this long was starved
L = {"samples": {}}


def vmrss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def raise_nofile():
    """Room for the held connections here and in the daemon, which inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 16384)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def setup():
    L["daemon"] = cbtest.Daemon(config={"unknownOrigins": "refuse", "limits": {
        "maxConnections": MAX_CONNECTIONS, "handshakeTimeoutSeconds": HANDSHAKE_TIMEOUT}},
        log_level="info")
    # Warm up (first allocations, the helper's hello), then take the baseline.
    for _ in range(20):
        ws = L["daemon"].connect()
        for _ in range(10):
            ws.result("system.hello")
        ws.close()
    time.sleep(1.0)
    L["rss_before"] = vmrss_kib(L["daemon"].proc.pid)
    L["held"] = []


def teardown():
    for ws in L.get("held", []):
        try:
            ws.sock.close()
        except OSError:
            pass
    if L.get("daemon"):
        L["daemon"].stop()


# --- the probe -----------------------------------------------------------------

def probe_main(port, stop, out):
    """One system.hello at a time on one connection, every ~2 ms, until stopped.
    A process of its own: a thread would measure the GIL as well."""
    rtts, failures = [], []
    try:
        ws = cbtest.WS(port)
        n = 0
        while not stop.is_set():
            n += 1
            msg = '{"jsonrpc":"2.0","id":%d,"method":"system.hello"}' % n
            t0 = time.perf_counter()
            ws.send_frame(msg)
            reply = ws.recv()
            rtts.append(time.perf_counter() - t0)
            if reply.get("id") != n or "result" not in reply:
                failures.append(repr(reply)[:200])
            time.sleep(0.002)
        ws.close()
    except Exception as e:
        failures.append(repr(e))
    out.put((rtts, failures))


class Probe:
    def __init__(self, phase):
        ctx = multiprocessing.get_context("fork")
        self.phase, self.stop, self.out = phase, ctx.Event(), ctx.Queue()
        self.proc = ctx.Process(target=probe_main, args=(L["daemon"].port, self.stop, self.out))

    def start(self):
        self.proc.start()

    def finish(self):
        self.stop.set()
        rtts, failures = self.out.get(timeout=30)
        self.proc.join(10)
        L["samples"][self.phase] = rtts
        report(self.phase, rtts)
        assert not failures, failures[:3]
        assert len(rtts) >= 20, "the probe got only %d answers" % len(rtts)


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def report(phase, rtts):
    if rtts:
        print("# system.hello during %s: n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms" %
              (phase, len(rtts), percentile(rtts, 50) * 1000, percentile(rtts, 99) * 1000,
               max(rtts) * 1000), flush=True)


# --- the load processes --------------------------------------------------------

def background():
    """Load processes run at nice 10: the daemon and the probe come first."""
    os.nice(10)


def masked(text):
    payload = text.encode()
    key = b"\x5a\xa5\x3c\xc3"
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + key + body


def load_worker(port, requests, conns, window, rate, out):
    """Send `requests` system.hello over `conns` non-blocking connections, at most
    `window` in flight on each, and at most `rate` per second if rate is not None;
    every answer must be the result for that connection's id."""
    background()
    try:
        sel = selectors.DefaultSelector()
        state = {}
        for k in range(conns):
            ws = cbtest.WS(port)
            ws.sock.setblocking(False)
            st = {"sock": ws.sock, "buf": ws.buf, "out": b"", "frame": masked(
                '{"jsonrpc":"2.0","id":%d,"method":"system.hello"}' % k),
                "want": b'"id":%d,' % k, "inflight": 0}
            state[ws.sock.fileno()] = st
            sel.register(ws.sock, selectors.EVENT_READ, st)
        sent = answered = bad = 0
        t0 = time.monotonic()

        def allowed():
            if rate is None:
                return requests - sent
            return min(requests, int((time.monotonic() - t0) * rate) + 1) - sent

        def push(st, n):
            nonlocal sent
            n = min(n, allowed())
            if n <= 0:
                return
            st["out"] += st["frame"] * n
            st["inflight"] += n
            sent += n
            flush(st)

        def flush(st):
            try:
                n = st["sock"].send(st["out"])
                st["out"] = st["out"][n:]
            except BlockingIOError:
                pass
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if st["out"] else 0)
            sel.modify(st["sock"], events, st)

        for st in state.values():
            push(st, window)
        idle = tick = time.monotonic()
        ring = list(state.values())
        while answered < requests:
            if rate is None:
                ready = sel.select(timeout=30)
            else:
                # Paced: every TICK, top up the connections that have room.
                ready = sel.select(timeout=max(0.0, tick - time.monotonic()))
                if time.monotonic() >= tick:
                    tick += TICK
                    for st in ring:
                        if allowed() <= 0:
                            break
                        if st["inflight"] < window:
                            push(st, window - st["inflight"])
                    ring.append(ring.pop(0))
            if ready:
                idle = time.monotonic()
            elif time.monotonic() - idle > 30:
                raise RuntimeError("no answer for 30 s (%d of %d)" % (answered, requests))
            for key, events in ready:
                st = key.data
                if events & selectors.EVENT_WRITE and st["out"]:
                    flush(st)
                if not events & selectors.EVENT_READ:
                    continue
                data = st["sock"].recv(262144)
                if not data:
                    raise RuntimeError("connection closed by the daemon")
                buf = st["buf"] + data
                done = 0
                while len(buf) >= 2:
                    n, head = buf[1] & 0x7f, 2
                    if n == 126:
                        if len(buf) < 4:
                            break
                        n, head = struct.unpack("!H", buf[2:4])[0], 4
                    elif n == 127:
                        if len(buf) < 10:
                            break
                        n, head = struct.unpack("!Q", buf[2:10])[0], 10
                    if len(buf) < head + n:
                        break
                    payload = buf[head:head + n]
                    if buf[0] & 0x0f != 1 or b'"result"' not in payload or \
                            st["want"] not in payload:
                        bad += 1
                    buf = buf[head + n:]
                    done += 1
                st["buf"] = buf
                answered += done
                st["inflight"] -= done
                if done and rate is None:
                    push(st, done)
        took = time.monotonic() - t0
        for st in state.values():
            st["sock"].close()
        out.put({"answered": answered, "bad": bad, "seconds": took})
    except Exception as e:
        out.put({"error": repr(e)})


def churn_worker(port, cycles, out):
    """connect, handshake, one hello, close; plus bare TCP connects and resets."""
    background()
    ok = failed = 0
    errors = []
    try:
        for i in range(cycles):
            try:
                ws = cbtest.WS(port, timeout=10)
                r = ws.call("system.hello")
                if "result" in r:
                    ok += 1
                else:
                    failed += 1
                if i % 3 == 0:      # gone without a close frame
                    ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
                    ws.sock.close()
                else:
                    ws.close()
            except Exception as e:
                failed += 1
                errors.append(repr(e))
            if i % 2 == 0:          # a bare TCP connect that never speaks
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                s.close()
        out.put({"ok": ok, "failed": failed, "errors": errors[:3]})
    except Exception as e:
        out.put({"error": repr(e)})


def run_processes(target, args_list):
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=args + (out,)) for args in args_list]
    for p in procs:
        p.start()
    return procs, out


def collect(procs, out, timeout):
    results = [out.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(10)
    return results


# --- the tests --------------------------------------------------------------

def idle_round_trips(d, n=1000):
    ws = d.connect()
    rtts = []
    for _ in range(n):
        t0 = time.perf_counter()
        ws.result("system.hello")
        rtts.append(time.perf_counter() - t0)
    ws.close()
    return rtts


def test_1000_connections_are_held_open_at_once_and_each_is_answered():
    d = L["daemon"]
    report("no load, no other connection", idle_round_trips(d))
    t0 = time.monotonic()
    for _ in range(HELD):
        L["held"].append(d.connect())
    opened = time.monotonic() - t0
    # Every one of them asks at once; every one is answered.
    for i, ws in enumerate(L["held"]):
        ws.send_frame('{"jsonrpc":"2.0","id":%d,"method":"system.hello"}' % i)
    for i, ws in enumerate(L["held"]):
        r = ws.recv()
        assert r["id"] == i and "result" in r, r
    L["rss_held"] = vmrss_kib(d.proc.pid)
    report("no load, %d idle connections" % HELD, idle_round_trips(d))
    print("# %d connections opened in %.2f s; daemon VmRSS %d KiB with them open" %
          (HELD, opened, L["rss_held"]), flush=True)


def hammer(phase, rate):
    """REQUESTS system.hello from WORKERS processes, with the HELD connections open."""
    assert len(L["held"]) == HELD
    per = REQUESTS // WORKERS
    probe = Probe(phase)
    probe.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    procs, out = run_processes(load_worker, [(L["daemon"].port, per, CONNS_PER_WORKER,
                                              WINDOW, rate and rate / WORKERS)] * WORKERS)
    results = collect(procs, out, timeout=120)
    took = time.monotonic() - t0
    probe.finish()
    errors = [r["error"] for r in results if "error" in r]
    assert not errors, errors
    answered = sum(r["answered"] for r in results)
    print("# %s: %d requests from %d processes (%d connections, up to %d in flight each)"
          " in %.1f s: %.0f requests/s, with %d other connections open" %
          (phase, answered, WORKERS, WORKERS * CONNS_PER_WORKER, WINDOW, took,
           answered / took, HELD), flush=True)
    assert answered == REQUESTS and sum(r["bad"] for r in results) == 0, results
    # The held connections were not disturbed.
    for ws in L["held"][::100]:
        assert ws.result("system.hello")["protocol"] == 1


def test_100000_requests_as_fast_as_several_processes_can_are_all_answered():
    hammer(SATURATED, None)


def test_100000_requests_at_10000_per_second_are_all_answered():
    hammer(PACED, PACED_RATE)


def wait_admitted(d, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return d.connect()
        except HandshakeRefused:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_connections_over_the_limit_get_503_and_a_freed_slot_is_usable():
    d = L["daemon"]
    extra = []
    refused = None
    # Let the load processes' closes be processed first.
    time.sleep(0.5)
    for _ in range(MAX_CONNECTIONS - HELD + 50):
        try:
            extra.append(d.connect())
        except HandshakeRefused as e:
            refused = e.status
            break
    L["held"].extend(extra)
    print("# %d more connections admitted before: %s" % (len(extra), refused), flush=True)
    assert refused is not None and " 503 " in refused + " ", refused
    assert len(L["held"]) == MAX_CONNECTIONS, len(L["held"])
    for _ in range(3):      # and it keeps refusing
        try:
            d.connect().close()
            raise AssertionError("admitted over the limit")
        except HandshakeRefused as e:
            assert " 503 " in e.status + " ", e.status
    L["held"].pop().close()
    L["held"].append(wait_admitted(d))
    assert L["held"][-1].result("system.hello")["protocol"] == 1
    assert L["held"][0].result("system.hello")["protocol"] == 1


def release_held():
    for ws in L["held"]:
        ws.close()
    L["held"] = []
    time.sleep(1.0)


class Slowloris(threading.Thread):
    """SLOW connections that send their handshake one byte a second; records when
    the daemon cut each one (EOF or reset)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.request = ("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                        "Origin: %s\r\n" % (port, ORIGIN)).encode()
        self.socks = []
        for _ in range(SLOW):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.setblocking(False)
            self.socks.append({"sock": s, "sent": 0, "start": time.monotonic(), "cut": None})
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set() and any(c["cut"] is None for c in self.socks):
            now = time.monotonic()
            for c in self.socks:
                if c["cut"] is not None:
                    continue
                try:
                    if c["sock"].recv(4096) == b"":
                        c["cut"] = now - c["start"]
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    c["cut"] = now - c["start"]
                    continue
                try:
                    c["sock"].send(self.request[c["sent"] % len(self.request):][:1])
                    c["sent"] += 1
                except OSError:
                    c["cut"] = now - c["start"]
            self.stop.wait(1.0)

    def close(self):
        self.stop.set()
        self.join(5)
        for c in self.socks:
            c["sock"].close()


def test_slowloris_handshakes_are_cut_at_the_handshake_timeout_while_others_are_served():
    release_held()
    d = L["daemon"]
    slow = Slowloris(d.port)
    slow.start()
    probe = Probe("slowloris")
    probe.start()
    served = 0
    deadline = time.monotonic() + HANDSHAKE_TIMEOUT + 12
    try:
        while time.monotonic() < deadline and any(c["cut"] is None for c in slow.socks):
            ws = d.connect()        # newcomers are admitted and served meanwhile
            assert ws.result("system.hello")["protocol"] == 1
            ws.close()
            served += 1
            time.sleep(0.05)
    finally:
        slow.close()
        probe.finish()
    cuts = sorted(c["cut"] for c in slow.socks if c["cut"] is not None)
    print("# %d slowloris handshakes (1 byte/s, timeout %d s): %d cut, after %.1f s (first)"
          " to %.1f s (last); %d newcomers served meanwhile" %
          (SLOW, HANDSHAKE_TIMEOUT, len(cuts), cuts[0] if cuts else -1,
           cuts[-1] if cuts else -1, served), flush=True)
    assert served > 0
    assert len(cuts) == SLOW, "%d slow handshakes never cut" % (SLOW - len(cuts))
    assert cuts[-1] <= HANDSHAKE_TIMEOUT + 2, \
        "slow handshakes were cut after %.1f s, limits.handshakeTimeoutSeconds is %d" % (
            cuts[-1], HANDSHAKE_TIMEOUT)


def test_connection_churn_is_served_to_the_last_cycle():
    d = L["daemon"]
    probe = Probe("churn")
    probe.start()
    t0 = time.monotonic()
    procs, out = run_processes(churn_worker, [(d.port, CHURN_CYCLES)] * CHURN_WORKERS)
    results = collect(procs, out, timeout=120)
    took = time.monotonic() - t0
    probe.finish()
    assert not [r for r in results if "error" in r], results
    ok = sum(r["ok"] for r in results)
    print("# churn: %d connect/hello/close cycles (a third reset, plus %d bare TCP connects)"
          " in %.1f s" % (ok, CHURN_WORKERS * ((CHURN_CYCLES + 1) // 2), took), flush=True)
    assert ok == CHURN_WORKERS * CHURN_CYCLES, results
    ws = d.connect()
    assert ws.result("system.hello")["protocol"] == 1
    ws.close()


def test_hello_is_answered_throughout_and_never_starved():
    everything = [x for rtts in L["samples"].values() for x in rtts]
    assert len(L["samples"]) == 4, "a load phase did not run: %r" % list(L["samples"])
    report("all load phases", everything)
    for phase, rtts in L["samples"].items():
        assert rtts, "no system.hello was answered during " + phase
        assert max(rtts) * 1000 < STARVED_MS, \
            "a system.hello waited %.0f ms during %s" % (max(rtts) * 1000, phase)


def test_memory_returns_to_baseline_after_the_load():
    d = L["daemon"]
    before = L["rss_before"]
    deadline = time.monotonic() + 10
    while True:
        after = vmrss_kib(d.proc.pid)
        if after <= before + RSS_SLACK_KIB or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print("# daemon VmRSS: %d KiB before the load, %d KiB with %d connections, %d KiB after"
          % (before, L.get("rss_held", -1), HELD, after), flush=True)
    assert after <= before + RSS_SLACK_KIB, "VmRSS %d KiB, baseline %d KiB" % (after, before)


def test_the_daemon_and_its_helper_survived():
    d = L["daemon"]
    assert d.alive()
    log = d.read_log()
    assert "stopped unexpectedly" not in log
    ws = d.connect()
    assert ws.result("system.hello")["protocol"] == 1
    ws.close()


if __name__ == "__main__":
    if not os.access(cbtest.DAEMON, os.X_OK):
        tap.skip_all("cardbridged not built")
    if raise_nofile() < MAX_CONNECTIONS + 200:
        tap.skip_all("RLIMIT_NOFILE hard limit too low for %d connections" % MAX_CONNECTIONS)
    tap.run(globals(), setup, teardown)
