"""Consent for origins nobody allow-listed (the default "ask" policy).

A real cardbridged with the real helper and a SoftHSM2 token; the consent
dialog is answered by tests/fake-pinentry.  Checks that nothing reaches the
token before the user answers, and what each answer does.
"""
import json
import os
import subprocess
import time

import cbtest
import softhsm
from cbtest import HandshakeRefused, error_reason

hsm = None
UNKNOWN = "https://shop.example"


class Env(cbtest.Dialogs):
    """The dialogs (their log keeps every one since the Env was made), the
    user's config directory and runtime directory of one test."""

    def __init__(self):
        super().__init__(prefix="cb-consent-", keep_log=True)
        self.xdg = os.path.join(self.dir, "xdg")
        self.runtime = os.path.join(self.dir, "run")
        os.makedirs(self.runtime, mode=0o700)

    def daemon(self, config=None):
        # --no-default-config keeps no user state: the test's own, in --state-dir.
        return cbtest.Daemon(modules=[softhsm.MODULE], config=config,
                             args=["--state-dir", os.path.join(self.xdg, "cardbridge")],
                             env=dict(self.env(), SOFTHSM2_CONF=hsm.conf,
                                      XDG_CONFIG_HOME=self.xdg, XDG_RUNTIME_DIR=self.runtime))


def setup():
    global hsm
    hsm = softhsm.SoftHSM(["consent"])


def teardown():
    if hsm:
        hsm.cleanup()


def test_unknown_origin_is_admitted_but_may_only_say_hello():
    env = Env()
    d = env.daemon()
    try:
        env.answers("hang")
        ws = d.connect(origin=UNKNOWN)
        assert ws.result("system.hello")["protocol"] == 1
        assert env.shown() == "", "hello must not ask the user"
        ws.close()
    finally:
        d.stop()


def test_no_card_io_happens_before_the_user_answers():
    env = Env()
    d = env.daemon()
    try:
        env.answers("hang")
        ws = d.connect(origin=UNKNOWN)
        ws.send_frame(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "certificates.list",
                                  "params": {}}))
        deadline = time.time() + 10
        while "smart cards" not in env.shown() and time.time() < deadline:
            time.sleep(0.05)
        assert UNKNOWN in env.shown(), env.shown()
        time.sleep(0.3)
        helper_lines = [l for l in d.read_log().splitlines()
                        if l.startswith("cardbridge-pkcs11-helper") and "certificates.list" in l]
        assert not helper_lines, helper_lines
        ws.close()
    finally:
        d.stop()


def test_deny_gives_origin_not_allowed_and_refuses_later_handshakes():
    env = Env()
    d = env.daemon()
    try:
        env.answers("deny")
        ws = d.connect(origin=UNKNOWN)
        r = ws.call("tokens.list")
        assert error_reason(r) == "ORIGIN_NOT_ALLOWED", r
        ws.close()
        try:
            d.connect(origin=UNKNOWN)
            raise AssertionError("denied origin admitted again")
        except HandshakeRefused as e:
            assert " 403 " in e.status + " "
        ws = d.connect()        # the allow-listed origin is unaffected
        assert ws.result("tokens.list")["tokens"]
        ws.close()
    finally:
        d.stop()


def test_always_allow_is_remembered_across_restarts_and_revocable():
    env = Env()
    d = env.daemon()
    try:
        env.answers("confirm")
        ws = d.connect(origin=UNKNOWN)
        tokens = ws.result("tokens.list")["tokens"]
        assert tokens, tokens
        ws.close()
        with open(os.path.join(env.xdg, "cardbridge", "origins.json")) as f:
            assert UNKNOWN in f.read()
    finally:
        d.stop()
    d = env.daemon()
    try:
        env.answers()           # any dialog now would be answered "cancelled"
        ws = d.connect(origin=UNKNOWN)
        assert ws.result("certificates.list", {})["certificates"] == []
        ws.close()
        cli = os.path.join(cbtest.BUILDDIR, "cli", "cardbridge")
        sock = os.path.join(env.runtime, "cardbridge", "control")
        p = subprocess.run([cli, "--control-socket", sock, "origins", "revoke", UNKNOWN],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10,
                           env=dict(os.environ, XDG_RUNTIME_DIR=env.runtime))
        assert p.returncode == 0, p.stdout
        env.answers("deny")
        ws = d.connect(origin=UNKNOWN)
        assert error_reason(ws.call("tokens.list")) == "ORIGIN_NOT_ALLOWED"
        ws.close()
    finally:
        d.stop()


def test_unanswered_consent_dialog_times_out_and_asks_again():
    env = Env()
    d = env.daemon(config={"promptTimeoutSeconds": 1})
    try:
        env.answers("hang")
        ws = d.connect(origin=UNKNOWN)
        r = ws.call("tokens.list")
        assert error_reason(r) == "TIMEOUT", r
        env.answers("confirm")
        assert ws.result("tokens.list")["tokens"]
        ws.close()
    finally:
        d.stop()


def test_refuse_policy_refuses_unknown_origins_in_the_handshake():
    env = Env()
    d = cbtest.Daemon(config={"unknownOrigins": "refuse"},
                      env={"SOFTHSM2_CONF": hsm.conf, "XDG_CONFIG_HOME": env.xdg})
    try:
        try:
            d.connect(origin=UNKNOWN)
            raise AssertionError("unknown origin admitted under the refuse policy")
        except HandshakeRefused:
            pass
    finally:
        d.stop()


def test_plain_http_origins_are_never_asked_about():
    env = Env()
    d = env.daemon()
    try:
        try:
            d.connect(origin="http://shop.example")
            raise AssertionError("http origin admitted")
        except HandshakeRefused:
            pass
        assert env.shown() == ""
    finally:
        d.stop()


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, softhsm.missing)
