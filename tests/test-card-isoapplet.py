"""The real card path on the virtual IsoApplet card: pcscd, vpcd, OpenSC.

The e2e tier itself (keygen, CSR, certificate install, wrong PINs,
lockout, a pulled card, progress, events) is tests/cardtier.py, shared
with the OpenPGP card (tests/test-card.py); here it runs on a Java Card
with IsoApplet, which OpenSC 0.23 drives through its isoApplet driver and
pkcs15init profile: a PKCS#15 card personalised by its issuer with
pkcs15-init, keys generated under the user PIN, as on Certum-like cards.
On Debian 12's OpenSC a key made there reads every flag FALSE
(keyAttributes), EC keys cannot sign a SHA-256 request, and a CA
certificate without an ID would take a key's.

Below: minutes are normal.  A key generation that takes longer than every
other timeout of a test configuration completes within the operation
timeout (operationTimeoutSeconds) while other pages are served, and one
that takes longer than the operation timeout is answered TIMEOUT.
"""
import json
import os
import time

import cbtest
import pcscenv
import pki
from cardtier import (KEYGEN_DELAY_MS, RSA_2048, IsoApplet, card_uri, daemon_env, generate,
                      main_state, pin_answers, run, stages, swap_card, tier)
from cbtest import error_reason

# Every timeout a keygen could run into, made short (doc/cardbridged.8).
SHORT = {"promptTimeoutSeconds": 2, "limits": {"idleTimeoutSeconds": 2}}
SLOW_KEYGEN_MS = 5000


def slow_card_daemon(operation_timeout):
    """A daemon of its own with short timeouts, on a card that takes 5 s per key."""
    swap_card(os.path.join(tier.env.dir, "slow.state"), "--keygen-delay-ms",
              str(SLOW_KEYGEN_MS))
    return cbtest.Daemon(modules=[pcscenv.OPENSC_MODULE], env=daemon_env(),
                         config=dict(SHORT, operationTimeoutSeconds=operation_timeout))


def test_a_keygen_longer_than_every_other_timeout_completes_while_others_are_served():
    d = slow_card_daemon(30)
    try:
        other = d.connect(timeout=10)
        listed = other.result("tokens.list")   # the cache is filled now
        ws = d.connect(timeout=60)
        tier.dialogs.answers(*pin_answers(*IsoApplet.keygen_pins))
        started = time.monotonic()
        ws.send_frame(json.dumps({"jsonrpc": "2.0", "id": "slow", "method": "keys.generate",
                                  "params": {"token": card_uri(ws, IsoApplet.rsa_token),
                                             "algorithm": RSA_2048}}))
        progress = []
        while not progress or progress[-1]["stage"] != "generatingKey":
            msg = ws.recv()
            assert msg.get("method") == "progress", msg
            progress.append(msg["params"])
        # While the card works, another page is served at once, from the cache.
        t0 = time.monotonic()
        assert other.result("system.hello")["protocol"] == 1
        assert other.result("tokens.list") == listed
        served = time.monotonic() - t0
        while True:
            msg = ws.recv()
            if msg.get("id") == "slow":
                break
            progress.append(msg["params"])
        took = time.monotonic() - started
        ws.close()
        other.close()
        print("# keygen of %.1f s with prompt and idle timeouts of 2 s; another page "
              "served in %.0f ms meanwhile" % (took, served * 1000))
        assert "result" in msg, msg
        assert pki.verify_csr(msg["result"]["csr"])
        assert took >= SLOW_KEYGEN_MS / 1000 and served < 1, (took, served)
        assert stages(progress)[-2:] == ["generatingKey", "signingRequest"], progress
    finally:
        d.stop()
        swap_card(main_state(), "--keygen-delay-ms", str(KEYGEN_DELAY_MS))


def test_a_keygen_longer_than_the_operation_timeout_is_timeout_and_the_next_one_works():
    d = slow_card_daemon(3)
    try:
        ws = d.connect(timeout=60)
        started = time.monotonic()
        progress, r = generate(ws, IsoApplet.rsa_token, RSA_2048,
                               *pin_answers(*IsoApplet.keygen_pins))
        took = time.monotonic() - started
        assert error_reason(r) == "TIMEOUT", r
        assert 3 <= took < SLOW_KEYGEN_MS / 1000, took
        assert stages(progress)[-1] == "generatingKey", progress
        ws.close()
        # The helper that hung was replaced, and serves the card once the card is done
        # (the page's connection, idle since its answer, is gone by then: 2 s).
        time.sleep(max(0, SLOW_KEYGEN_MS / 1000 - took) + 0.5)
        ws = d.connect(timeout=60)
        assert [t for t in ws.result("tokens.list")["tokens"]
                if t["label"] == IsoApplet.rsa_token], "the card is not served again"
        ws.close()
        assert d.alive()
    finally:
        d.stop()
        swap_card(main_state(), "--keygen-delay-ms", str(KEYGEN_DELAY_MS))


if __name__ == "__main__":
    run(globals(), IsoApplet())
