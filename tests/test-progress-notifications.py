"""Progress notifications through the WebSocket (doc/PROTOCOL.md, "Progress").

A real cardbridged and helper on a throw-away SoftHSM2 token, PIN dialogs
answered by tests/fake-pinentry: the page that sent a request gets its
stages in order, each once, before the answer, with elapsedMs counted from
the moment the daemon received the request; nobody else gets them, and a
request without an id gets none.  The same on a card, with a key
generation that takes seconds: tests/cardtier.py.  EC keys only, so that
tests/test-leaks.py can run this suite under valgrind.
"""
import json
import time

import cbtest
import pki
import softhsm
from cbtest import wait_for

LABEL = "progress"
UNKNOWN = "https://shop.example"
hsm = dialogs = daemon = None
generated = []  # keys.generate results, for certificates.install


def setup():
    global hsm, dialogs, daemon
    hsm = softhsm.SoftHSM([LABEL])
    dialogs = cbtest.Dialogs(keep_log=True)
    daemon = cbtest.Daemon(modules=[softhsm.MODULE],
                           env=dict(dialogs.env(), SOFTHSM2_CONF=hsm.conf))


def teardown():
    if daemon:
        daemon.stop()
    if hsm:
        hsm.cleanup()
    if dialogs:
        dialogs.cleanup()


def token_uri(ws):
    return [t["uri"] for t in ws.result("tokens.list")["tokens"] if t["label"] == LABEL][0]


def run(ws, request_id, method, params):
    """Send a request; (its progress params in order, its answer, seconds until the answer)."""
    sent = time.monotonic()
    progress, answer = ws.call_with_progress(request_id, method, params)
    return progress, answer, time.monotonic() - sent


def stages(progress):
    return [p["stage"] + ("/" + p["pin"] if "pin" in p else "") for p in progress]


def check_elapsed(progress, seconds):
    elapsed = [p["elapsedMs"] for p in progress]
    assert elapsed == sorted(elapsed), elapsed
    assert all(0 <= e <= seconds * 1000 + 50 for e in elapsed), (elapsed, seconds)


def test_keygen_stages_arrive_in_order_before_the_answer_and_to_that_page_only():
    other = daemon.connect()
    other.result("events.subscribe")
    ws = daemon.connect(timeout=60)
    dialogs.answers("pin 000000", "pin " + softhsm.PIN)
    progress, answer, seconds = run(ws, "gen-1", "keys.generate", {
        "token": token_uri(ws), "algorithm": {"type": "EC", "curve": "P-256"}})
    assert "result" in answer, answer
    assert pki.verify_csr(answer["result"]["csr"])
    # The wrong PIN's second dialog is still the same PIN's stage: once.
    assert stages(progress) == ["waitingForPin/user", "pinAccepted/user", "generatingKey",
                                "signingRequest"], progress
    check_elapsed(progress, seconds)
    assert set(progress[0]) == {"id", "stage", "elapsedMs", "pin"}, progress[0]
    # The other page, subscribed to events, heard nothing of it.
    heard = other.next_within(0.3)
    assert heard is None or heard.get("method") == "event", heard
    ws.close()
    other.close()
    generated.append(answer["result"])


def test_certificate_install_reports_writing_the_certificate():
    ca = pki.TestCA()
    ws = daemon.connect(timeout=60)
    dialogs.answers("pin " + softhsm.PIN)
    progress, answer, seconds = run(ws, 7, "certificates.install",
                                    {"certificate": ca.issue(generated[0]["csr"])})
    ws.close()
    assert "result" in answer, answer
    assert stages(progress) == ["waitingForPin/user", "pinAccepted/user",
                                "writingCertificate"], progress
    check_elapsed(progress, seconds)


def test_a_request_without_an_id_gets_no_progress():
    ws = daemon.connect(timeout=60)
    uri = token_uri(ws)
    before = len(hsm.objects(LABEL))
    asked = dialogs.shown().count("GETPIN")
    dialogs.answers("pin " + softhsm.PIN)
    ws.send_frame(json.dumps({"jsonrpc": "2.0", "method": "keys.generate",
                              "params": {"token": uri,
                                         "algorithm": {"type": "EC", "curve": "P-256"}}}))
    # A method that changes a token does not run as a notification (doc/PROTOCOL.md):
    # no dialog, no key pair, and the page hears nothing, progress included.
    assert ws.result("system.hello")["protocol"] == 1   # the first message since
    time.sleep(0.5)
    assert dialogs.shown().count("GETPIN") == asked, dialogs.shown()
    assert len(hsm.objects(LABEL)) == before
    ws.close()


def test_elapsed_counts_from_when_the_daemon_received_the_request():
    """Page B's request waits in the daemon for the user's consent, whose dialog waits
    for page A's: its first stage comes seconds after the daemon received it, and
    elapsedMs says so (it does not count from when the helper got it)."""
    dialogs.answers("hang", "confirm", "pin " + softhsm.PIN)
    a = daemon.connect(timeout=60)
    uri = token_uri(a)
    a.send_frame(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "keys.generate",
                             "params": {"token": uri,
                                        "algorithm": {"type": "EC", "curve": "P-256"}}}))
    wait_for("page A's dialog", lambda: "GETPIN -> hang" in dialogs.shown(), timeout=20)
    b = cbtest.WS(daemon.port, origin=UNKNOWN, timeout=60)
    b.send_frame(json.dumps({"jsonrpc": "2.0", "id": "b", "method": "keys.generate",
                             "params": {"token": uri,
                                        "algorithm": {"type": "EC", "curve": "P-256"}}}))
    sent = time.monotonic()
    time.sleep(1.5)
    a.close()   # its dialog goes; the consent question comes up and is confirmed
    progress = []
    while True:
        msg = b.recv()
        if msg.get("method") == "progress":
            progress.append(msg["params"])
        elif msg.get("id") == "b":
            break
    seconds = time.monotonic() - sent
    b.close()
    assert "result" in msg, msg
    assert stages(progress) == ["waitingForPin/user", "pinAccepted/user", "generatingKey",
                                "signingRequest"], progress
    assert progress[0]["elapsedMs"] >= 1500, progress
    check_elapsed(progress, seconds)


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, softhsm.missing)
