"""The real card path: pcscd + vpcd + the virtual OpenPGP card + OpenSC.

A private pcscd (tests/pcscenv.py), our virtual OpenPGP card 3.4, OpenSC's
real opensc-pkcs11.so in the helper, and cardbridged's PC/SC card watcher,
all driven through the WebSocket as a portal would.  What the card holds is
checked with pkcs11-tool, independently of cardbridge.
"""
import json
import os
import socket
import tempfile
import time

import cbtest
import pcscenv
import pki
import tap
from cbtest import error_reason

env = daemon = ca = None
SCRIPT = LOG = None


def pinentry(*actions):
    with open(SCRIPT, "w") as f:
        f.write("".join(a + "\n" for a in actions))


def setup():
    global env, daemon, ca, SCRIPT, LOG
    env = pcscenv.PcscEnv()
    env.insert()
    d = tempfile.mkdtemp(prefix="cb-pin-")
    SCRIPT = os.path.join(d, "script")
    LOG = os.path.join(d, "pinentry.log")
    pinentry()
    daemon = cbtest.Daemon(modules=[pcscenv.OPENSC_MODULE],
                           env=dict(env.env, CB_PINENTRY_SCRIPT=SCRIPT, CB_PINENTRY_LOG=LOG))
    ca = pki.TestCA()


def teardown():
    if daemon:
        daemon.stop()
    if env:
        env.stop()


def next_event(ws, wanted, timeout=20):
    """Skip events until one of type `wanted` arrives; returns its params."""
    ws.sock.settimeout(timeout)
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = ws.recv()
        if msg.get("method") == "event" and msg["params"]["type"] == wanted:
            return msg["params"]
    raise AssertionError("no %s event" % wanted)


def card_tokens(ws):
    return [t for t in ws.result("tokens.list")["tokens"]
            if t["manufacturer"] == "OpenPGP project"]


def test_tokens_list_shows_the_openpgp_card():
    ws = daemon.connect()
    tokens = card_tokens(ws)
    ws.close()
    assert tokens, "no OpenPGP token listed"
    t = tokens[0]
    assert t["reader"].startswith("Virtual PCD"), t
    assert t["serial"] == "fffe00000001", t
    assert t["flags"]["pinLocked"] is False
    assert any(k["type"] == "RSA" for k in t["keyTypes"]), t["keyTypes"]


def test_card_removal_and_insertion_reach_a_subscribed_page():
    ws = daemon.connect()
    assert ws.result("events.subscribe")["subscribed"] is True
    env.remove()
    removed = next_event(ws, "cardRemoved")
    assert removed["reader"].startswith("Virtual PCD"), removed
    changed = next_event(ws, "tokensChanged")
    assert not [t for t in changed["tokens"] if t["manufacturer"] == "OpenPGP project"]
    env.insert()
    inserted = next_event(ws, "cardInserted")
    assert inserted["atr"].startswith("3b"), inserted
    changed = next_event(ws, "tokensChanged")
    assert [t for t in changed["tokens"] if t["manufacturer"] == "OpenPGP project"]
    ws.close()


def test_unsubscribed_page_gets_no_events():
    quiet = daemon.connect()
    loud = daemon.connect()
    loud.result("events.subscribe")
    quiet.result("events.subscribe")
    quiet.result("events.unsubscribe")
    env.remove()
    next_event(loud, "cardRemoved")
    env.insert()
    next_event(loud, "tokensChanged")
    quiet.sock.settimeout(0.5)
    try:
        msg = quiet.recv()
    except (socket.timeout, TimeoutError):
        msg = None
    assert msg is None, msg
    quiet.close()
    loud.close()


def test_pcscd_killed_and_restarted_is_survived():
    ws = daemon.connect()
    ws.result("events.subscribe")
    env.kill_pcscd()
    gone = next_event(ws, "readerRemoved")
    assert gone["reader"].startswith("Virtual PCD")
    assert ws.result("system.hello")["protocol"] == 1
    env.start_pcscd()
    next_event(ws, "readerAdded")
    env.insert()
    next_event(ws, "cardInserted")
    next_event(ws, "tokensChanged")
    assert card_tokens(ws), "card not listed after pcscd came back"
    ws.close()
    assert daemon.alive()


if __name__ == "__main__":
    why = pcscenv.missing()
    if why:
        tap.skip_all(why)
    if not os.access(cbtest.HELPER, os.X_OK):
        tap.skip_all("cardbridge-pkcs11-helper not built")
    tap.run(globals(), setup, teardown)
