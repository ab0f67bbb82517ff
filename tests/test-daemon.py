"""Black-box tests of cardbridged's foundation: admission, protocol, limits.

Each test talks to a real cardbridged over loopback exactly as a browser
would (Origin header, subprotocol cardbridge.v1).  The helper is a silent
stand-in here; token methods are covered by the PKCS#11 tiers.
"""
import json
import os
import signal
import socket
import stat
import tempfile
import threading
import time

import cbtest
import tap
from cbtest import ORIGIN, Closed, HandshakeRefused, error_reason

daemon = None
SILENT_HELPER = None


def make_silent_helper():
    """A helper that reads requests and never answers (a hung token)."""
    path = os.path.join(tempfile.mkdtemp(prefix="cbhelper-"), "silent-helper")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec sleep 100000\n")
    os.chmod(path, stat.S_IRWXU)
    return path


def setup():
    global daemon, SILENT_HELPER
    SILENT_HELPER = make_silent_helper()
    # Origins nobody allow-listed are refused outright here; the "ask the
    # user" policy (the default) is covered by test-consent.py.
    daemon = cbtest.Daemon(origins=(ORIGIN, "http://127.0.0.1:8080"),
                           config={"unknownOrigins": "refuse"},
                           args=["--helper", SILENT_HELPER], log_level="info")


def teardown():
    cbtest.cleanup(daemon)


def expect_refused(**kw):
    try:
        ws = daemon.connect(**kw)
    except HandshakeRefused as e:
        assert " 403 " in e.status + " ", e.status
        return
    ws.close()
    raise AssertionError("handshake was accepted: %r" % (kw,))


def assert_serving():
    ws = daemon.connect()
    assert ws.result("system.hello")["name"] == "cardbridge"
    ws.close()


def test_hello_answers_name_version_protocol_and_methods():
    ws = daemon.connect()
    r = ws.result("system.hello")
    assert r["name"] == "cardbridge"
    assert r["protocol"] == 1
    assert r["version"]
    for m in ("system.hello", "tokens.list", "keys.generate", "certificates.install",
              "certificates.list"):
        assert m in r["methods"], m
    ws.close()


def test_loopback_http_origin_in_allow_list_is_admitted():
    ws = daemon.connect(origin="http://127.0.0.1:8080")
    assert ws.result("system.hello")["protocol"] == 1
    ws.close()


def test_disallowed_origin_is_refused_in_handshake():
    expect_refused(origin="https://evil.example")
    assert "evil.example" in daemon.read_log()


def test_lookalike_origins_are_refused():
    for o in ("https://portal.example.evil", "https://portal.example:8443",
              "http://portal.example", "https://PORTAL.example", "https://portal.example/"):
        expect_refused(origin=o)


def test_missing_origin_is_refused():
    expect_refused(origin=None)


def test_null_origin_is_refused():
    expect_refused(origin="null")


def test_rebinding_host_header_is_refused():
    expect_refused(host="evil.example:%d" % daemon.port)
    expect_refused(host="127.0.0.1.evil.example:%d" % daemon.port)


def test_host_with_wrong_port_is_refused():
    expect_refused(host="127.0.0.1:1")


def test_loopback_host_names_are_admitted():
    for host in ("localhost:%d" % daemon.port, "[::1]:%d" % daemon.port):
        ws = daemon.connect(host=host)
        ws.result("system.hello")
        ws.close()


def test_wrong_or_missing_subprotocol_is_refused():
    for proto in (None, "other.v1"):
        try:
            ws = daemon.connect(protocol=proto)
        except HandshakeRefused:
            continue
        ws.close()
        raise AssertionError("accepted subprotocol %r" % proto)


def test_plain_http_request_gets_403():
    s = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n\r\n" %
              (daemon.port, ORIGIN.encode()))
    head = s.recv(4096)
    s.close()
    assert b" 403 " in head.split(b"\r\n")[0], head[:80]


def test_malformed_json_gets_parse_error_with_null_id_and_connection_stays():
    ws = daemon.connect()
    ws.send_frame('{"jsonrpc":"2.0","id":1,')
    r = ws.recv()
    assert r["id"] is None
    assert r["error"]["code"] == -32700
    assert error_reason(r) == "PARSE_ERROR"
    assert ws.result("system.hello")["protocol"] == 1
    ws.close()


def test_unknown_method_gets_32601_and_connection_stays():
    ws = daemon.connect()
    r = ws.call("no.such.method")
    assert r["error"]["code"] == -32601
    assert error_reason(r) == "METHOD_NOT_FOUND"
    assert ws.result("system.hello")["protocol"] == 1
    ws.close()


def test_batch_is_rejected_as_invalid_request():
    ws = daemon.connect()
    ws.send_frame(json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "system.hello"}]))
    r = ws.recv()
    assert r["error"]["code"] == -32600, r
    assert "batch" in r["error"]["message"]
    ws.close()


def test_wrong_jsonrpc_version_is_invalid_request():
    ws = daemon.connect()
    ws.send_frame('{"jsonrpc":"1.0","id":5,"method":"system.hello"}')
    r = ws.recv()
    assert r["error"]["code"] == -32600 and r["id"] == 5, r
    ws.close()


def test_duplicate_keys_are_invalid_request():
    ws = daemon.connect()
    ws.send_frame('{"jsonrpc":"2.0","id":1,"id":2,"method":"system.hello"}')
    r = ws.recv()
    assert r["error"]["code"] == -32600, r
    assert "duplicate" in r["error"]["message"]
    ws.close()


def test_params_of_wrong_shape_are_invalid_params_naming_the_field():
    ws = daemon.connect()
    r = ws.call("keys.generate", {"token": "pkcs11:token=x", "algorithm": {"type": "RSA"},
                                  "colour": "blue"})
    assert r["error"]["code"] == -32602, r
    assert "colour" in r["error"]["message"]
    r = ws.call("keys.generate", {"token": 7, "algorithm": {"type": "RSA"}})
    assert r["error"]["code"] == -32602 and "token" in r["error"]["message"], r
    r = ws.call("keys.generate", {"algorithm": {"type": "RSA"}})
    assert "missing" in r["error"]["message"] and "token" in r["error"]["message"], r
    r = ws.call("system.hello", {"x": 1})
    assert r["error"]["code"] == -32602, r
    ws.close()


def test_string_ids_are_echoed():
    ws = daemon.connect()
    r = ws.call("system.hello", id="abc-1")
    assert r["id"] == "abc-1" and "result" in r
    ws.close()


def test_notification_gets_no_answer():
    ws = daemon.connect()
    ws.send_frame('{"jsonrpc":"2.0","method":"system.hello"}')
    r = ws.call("system.hello", id=99)
    assert r["id"] == 99
    ws.sock.settimeout(0.3)
    try:
        extra = ws.recv()
    except (socket.timeout, TimeoutError):
        extra = None
    assert extra is None, extra
    ws.close()


def test_too_deep_json_gets_too_deep():
    ws = daemon.connect()
    deep = "[" * 40 + "]" * 40
    ws.send_frame('{"jsonrpc":"2.0","id":1,"method":"system.hello","params":{"a":%s}}' % deep)
    r = ws.recv()
    assert error_reason(r) == "TOO_DEEP", r
    assert ws.result("system.hello")["protocol"] == 1
    ws.close()


def test_oversize_message_gets_too_large_then_close_1009_and_others_unaffected():
    other = daemon.connect()
    ws = daemon.connect()
    ws.send_frame('{"jsonrpc":"2.0","id":1,"method":"system.hello","params":{"x":"%s"}}' %
                  ("A" * (300 * 1024)))
    r = ws.recv()
    assert error_reason(r) == "TOO_LARGE", r
    try:
        ws.recv()
        raise AssertionError("no close after TOO_LARGE")
    except Closed as e:
        assert e.code == 1009, e.code
    assert other.result("system.hello")["protocol"] == 1
    other.close()
    assert daemon.alive()


def test_fragmented_message_is_reassembled():
    ws = daemon.connect()
    msg = '{"jsonrpc":"2.0","id":7,"method":"system.hello"}'
    ws.send_frame(msg[:10], opcode=1, fin=False)
    ws.send_frame(msg[10:30], opcode=0, fin=False)
    ws.send_frame(msg[30:], opcode=0, fin=True)
    r = ws.recv()
    assert r["id"] == 7 and "result" in r, r
    ws.close()


def test_binary_frame_closes_with_1003():
    ws = daemon.connect()
    ws.send_frame(b"\x00\x01\x02", opcode=2)
    try:
        ws.recv()
        raise AssertionError("binary frame accepted")
    except Closed as e:
        assert e.code == 1003, e.code
    assert_serving()


def test_invalid_utf8_closes_with_1007():
    ws = daemon.connect()
    ws.send_frame(b'{"jsonrpc":"2.0","id":1,"method":"\xff\xfe"}', opcode=1)
    try:
        r = ws.recv()
        raise AssertionError("invalid UTF-8 accepted: %r" % r)
    except Closed as e:
        assert e.code == 1007, e.code
    assert_serving()


def test_fifty_clients_at_once_all_get_answers():
    clients = [daemon.connect() for _ in range(50)]
    results = [None] * 50

    def ask(i):
        results[i] = clients[i].result("system.hello")["protocol"]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    for c in clients:
        c.close()
    assert results == [1] * 50, results


def test_in_flight_limit_gives_busy_and_hello_still_answers():
    ws = daemon.connect()
    # The silent helper never answers: 8 certificates.list calls stay in flight.
    for i in range(8):
        ws.send_frame(json.dumps({"jsonrpc": "2.0", "id": 100 + i,
                                  "method": "certificates.list", "params": {}}))
    r = ws.call("certificates.list", {}, id=200)
    assert error_reason(r) == "BUSY", r
    t0 = time.time()
    assert ws.result("system.hello")["protocol"] == 1
    assert time.time() - t0 < 5
    ws.close()


def test_log_never_holds_message_bodies_at_info_level():
    ws = daemon.connect()
    canary = "CANARY-body-7f3a91"
    ws.call("keys.generate", {"token": canary, "algorithm": {"type": "RSA", "bits": 2048},
                              "subject": {"CN": canary}, "bogus": canary})
    ws.call(canary)
    ws.close()
    time.sleep(0.2)
    assert canary not in daemon.read_log()


def test_connection_limit_gives_503_then_recovers():
    d = cbtest.Daemon(config={"limits": {"maxConnections": 3}},
                      args=["--helper", SILENT_HELPER])
    try:
        held = [d.connect() for _ in range(3)]
        try:
            d.connect()
            raise AssertionError("4th connection accepted")
        except HandshakeRefused as e:
            assert " 503 " in e.status + " ", e.status
        held[0].close()
        time.sleep(0.3)
        ws = d.connect()
        ws.result("system.hello")
        for c in held[1:] + [ws]:
            c.close()
    finally:
        d.stop()


def assert_closed_within(ws, seconds):
    """The daemon closes ws, without a message first, within seconds."""
    ws.sock.settimeout(seconds + 1)
    t0 = time.time()
    try:
        ws.recv()
        raise AssertionError("idle connection got a message")
    except (Closed, ConnectionError, OSError):
        pass
    assert time.time() - t0 < seconds, time.time() - t0


def test_idle_connection_is_closed_after_the_timeout():
    d = cbtest.Daemon(config={"limits": {"idleTimeoutSeconds": 1}},
                      args=["--helper", SILENT_HELPER])
    try:
        ws = d.connect()
        ws.result("system.hello")
        assert_closed_within(ws, 4.5)
    finally:
        d.stop()


def test_requests_keep_a_connection_open_and_a_subscribed_one_is_never_idle():
    """The idle timer is armed once and looks at the last request when due
    (daemon/session.c): requests must still push the timeout back."""
    d = cbtest.Daemon(config={"limits": {"idleTimeoutSeconds": 2}},
                      args=["--helper", SILENT_HELPER])
    try:
        busy, listening = d.connect(), d.connect()
        listening.result("events.subscribe")
        for _ in range(6):      # 3.6 s, a request every 0.6 s
            assert busy.result("system.hello")["name"] == "cardbridge"
            time.sleep(0.6)
        assert_closed_within(busy, 5)
        assert listening.result("system.hello")["name"] == "cardbridge"
        listening.close()
    finally:
        d.stop()


def test_message_size_limit_is_configurable():
    d = cbtest.Daemon(config={"limits": {"maxMessageBytes": 2048}},
                      args=["--helper", SILENT_HELPER])
    try:
        ws = d.connect()
        ws.send_frame('{"jsonrpc":"2.0","id":1,"method":"system.hello","params":{"x":"%s"}}' %
                      ("B" * 3000))
        assert error_reason(ws.recv()) == "TOO_LARGE"
    finally:
        d.stop()


def test_unknown_config_key_is_a_startup_error_naming_it():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "c.json")
    with open(path, "w") as f:
        json.dump({"allowedOrigins": [ORIGIN], "colour": "blue"}, f)
    rc, out = cbtest.run_daemon_expect_failure(["--config", path])
    assert rc != 0 and "colour" in out, out


def test_wrong_type_in_config_is_a_startup_error_naming_the_key():
    d = tempfile.mkdtemp()
    path = os.path.join(d, "c.json")
    with open(path, "w") as f:
        json.dump({"limits": {"maxDepth": "deep"}}, f)
    rc, out = cbtest.run_daemon_expect_failure(["--config", path])
    assert rc != 0 and "limits.maxDepth" in out, out


def test_non_loopback_listen_address_is_refused_at_startup():
    for addr in ("0.0.0.0:48801", "192.0.2.1:48801", "[::]:48801"):
        rc, out = cbtest.run_daemon_expect_failure(["--listen", addr])
        assert rc != 0 and "non-loopback" in out, out


def test_http_origin_that_is_not_loopback_cannot_be_allow_listed():
    rc, out = cbtest.run_daemon_expect_failure(["--allow-origin", "http://portal.example"])
    assert rc != 0 and "loopback" in out, out


def test_config_file_origins_and_flags_combine():
    d = cbtest.Daemon(origins=(), config={"allowedOrigins": ["https://a.example"],
                                          "unknownOrigins": "refuse"},
                      args=["--helper", SILENT_HELPER, "--allow-origin", "https://b.example"])
    try:
        for o in ("https://a.example", "https://b.example"):
            ws = d.connect(origin=o)
            ws.result("system.hello")
            ws.close()
        try:
            d.connect(origin=ORIGIN)
            raise AssertionError("origin not configured was admitted")
        except HandshakeRefused:
            pass
    finally:
        d.stop()


def expect_close(ws, code):
    try:
        ws.recv()
        raise AssertionError("no close frame")
    except Closed as e:
        assert e.code == code, e.code


def sigterm_closes_with_1001_and_exits_0(d, ws):
    d.proc.send_signal(signal.SIGTERM)
    expect_close(ws, 1001)
    assert d.proc.wait(10) == 0
    d.stop()


def test_sigterm_closes_connections_with_1001_and_exits_0():
    d = cbtest.Daemon(args=["--helper", SILENT_HELPER])
    ws = d.connect()
    ws.result("system.hello")
    sigterm_closes_with_1001_and_exits_0(d, ws)


def test_lws_runs_on_libuv():
    """With lws's own loop every message would cost a poll() over all connections
    (daemon/evloop.c); a missing libwebsockets-evlib-uv must not go unnoticed."""
    d = cbtest.Daemon(args=["--helper", SILENT_HELPER])
    d.connect().close()
    d.stop()
    assert "event loop: libuv" in d.read_log(), d.read_log()[-2000:]


def test_lws_own_loop_still_serves_closes_and_stops_cleanly():
    """CB_EVENT_LOOP=poll, also what runs when the libuv plugin cannot be loaded."""
    d = cbtest.Daemon(args=["--helper", SILENT_HELPER], env={"CB_EVENT_LOOP": "poll"})
    ws = d.connect()
    assert ws.result("system.hello")["name"] == "cardbridge"
    ws.send_frame("x", opcode=2)
    expect_close(ws, 1003)
    ws.close()
    ws = d.connect()
    ws.result("system.hello")
    sigterm_closes_with_1001_and_exits_0(d, ws)
    assert "event loop: poll" in d.read_log(), d.read_log()[-2000:]


def test_daemon_survived_everything():
    assert daemon.alive()
    assert_serving()


if __name__ == "__main__":
    if not os.access(cbtest.DAEMON, os.X_OK):
        tap.skip_all("cardbridged not built")
    tap.run(globals(), setup, teardown)
