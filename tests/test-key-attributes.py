"""keys.generate decides on what the module does with a private key, not on
the flags it reports (doc/PROTOCOL.md, keys.generate, "keyAttributes").

Three modules over one throw-away SoftHSM2 token, driven through the
WebSocket: SoftHSM2 itself (tells the truth), and tests/mock-p11 passing
every call on to it (MOCK_P11_WRAP) but lying about private keys
(MOCK_P11_PRIVATE_KEYS): "misreport" reads every flag FALSE and refuses to
set them, as OpenSC before 0.24 does on PKCS#15 cards, while the secret
parts stay withheld; "leak" hands the secret parts out.  pkcs11-tool on
SoftHSM2 directly is the independent view of what stays on the token.
The same bug on a real driver, without a mock: tests/test-card-isoapplet.py.
"""
import os

import cbtest
import pki
import softhsm
from cbtest import error_reason

MOCK = os.path.join(cbtest.BUILDDIR, "tests", "mock-p11", "mock-p11.so")
LABEL = "attrs"
ALGORITHMS = ({"type": "RSA", "bits": 2048}, {"type": "EC", "curve": "P-256"})
hsm = dialogs = None


def setup():
    global hsm, dialogs
    hsm = softhsm.SoftHSM([LABEL])
    dialogs = cbtest.Dialogs()


def teardown():
    if hsm:
        hsm.cleanup()
    if dialogs:
        dialogs.cleanup()


def missing():
    why = softhsm.missing()
    if why is None and not os.path.exists(MOCK):
        why = "tests/mock-p11/mock-p11.so not built (make check builds it)"
    return why


def daemon_with(keys=None):
    """SoftHSM2 as the helper's module, or behind mock-p11 lying as keys says."""
    env = dict(dialogs.env(), SOFTHSM2_CONF=hsm.conf)
    if keys is None:
        return cbtest.Daemon(modules=[softhsm.MODULE], env=env)
    env.update(MOCK_P11_WRAP=softhsm.MODULE, MOCK_P11_PRIVATE_KEYS=keys)
    return cbtest.Daemon(modules=[MOCK], env=env)


def generate_all(keys):
    """keys.generate RSA 2048 and P-256 through a daemon whose module lies as keys says."""
    d = daemon_with(keys)
    try:
        ws = d.connect(timeout=60)
        uri = [t["uri"] for t in ws.result("tokens.list")["tokens"] if t["label"] == LABEL][0]
        replies = []
        for algorithm in ALGORITHMS:
            dialogs.answers("pin " + softhsm.PIN)
            replies.append(ws.call("keys.generate", {"token": uri, "algorithm": algorithm,
                                                     "subject": {"CN": "Joe Doe"}}))
        ws.close()
        return replies
    finally:
        d.stop()


def private_keys():
    return [o for o in hsm.objects(LABEL) if o["kind"] == "Private Key"]


def test_a_truthful_module_reports_a_sensitive_local_key():
    for r in generate_all(None):
        assert "result" in r, r
        assert r["result"]["keyAttributes"] == {
            "sensitive": True, "extractable": False, "local": True, "alwaysSensitive": True,
            "neverExtractable": True, "secretReadable": False}, r["result"]
        assert pki.verify_csr(r["result"]["csr"])


def test_flags_misreported_false_are_reported_and_the_key_is_kept():
    before = len(private_keys())
    for r in generate_all("misreport"):
        assert "result" in r, r
        assert r["result"]["keyAttributes"] == {
            "sensitive": False, "extractable": False, "local": False,
            "alwaysSensitive": False, "neverExtractable": False,
            "secretReadable": False}, r["result"]
        assert pki.verify_csr(r["result"]["csr"])
    # Underneath, the keys are what the template asked for.
    keys = private_keys()
    assert len(keys) == before + 2, keys
    assert all("sensitive" in k["access"] for k in keys), keys


def test_a_module_that_hands_out_private_keys_is_refused_and_nothing_is_left():
    before = hsm.objects(LABEL)
    replies = generate_all("leak")
    for r in replies:
        assert error_reason(r) == "MODULE_ERROR", r
        assert r["error"]["message"] == \
            "the token hands out the private key: its secret parts can be read", r
    after = hsm.objects(LABEL)
    assert after == before, "left on the token: %r" % [o for o in after if o not in before]


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, missing)
