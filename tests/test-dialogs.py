"""Dialogs that tell the truth, certificates only where they belong (issue 14,
part 14b: items 4, 5, 6 and 7).

A real cardbridged and helper with throw-away SoftHSM2 tokens; PIN and
consent dialogs answered by tests/fake-pinentry, whose log is what the user
would have seen.  Each test names the item of issue 14 it covers, and fails
on the tree before the fix; doc/SECURITY.md points here for its claims.
"""
import datetime
import os
import tempfile
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import cbtest
import softhsm
from cbtest import error_reason

hsm = daemon = dialogs = None
EC = {"type": "EC", "curve": "P-256"}
# A token label that reverses the rest of a sentence (U+202E), at most 32 bytes.
RLO_LABEL = "\u202etxet"
# An origin of 229 characters, labels of at most 63, ending in .evil.example.
LONG_HOST = ("portal.bank.example." + "a" * 63 + "." + "b" * 63 + "." + "c" * 60 +
             ".evil.example")
LONG_ORIGIN = "https://" + LONG_HOST
INVISIBLE = ("\u2028", "\u2029", "\u202e", "\u202d", "\u200b", "\u2066")
warnings.filterwarnings("ignore", message="Attribute's length")


def setup():
    global hsm, daemon, dialogs
    assert len(LONG_ORIGIN) == 229, len(LONG_ORIGIN)
    hsm = softhsm.SoftHSM(["dialogs", RLO_LABEL, "chain", "foreign"])
    dialogs = cbtest.Dialogs(prefix="cb-dialogs-")
    daemon = cbtest.Daemon(modules=[softhsm.MODULE],
                           env=dict(dialogs.env(), SOFTHSM2_CONF=hsm.conf))


def teardown():
    cbtest.cleanup(daemon, hsm, dialogs)


def missing():
    return softhsm.missing()


def token_uri(ws, label):
    return next(t["uri"] for t in ws.result("tokens.list")["tokens"] if t["label"] == label)


def keygen(ws, label, subject, key_label=None, answers=("pin " + softhsm.PIN,)):
    dialogs.answers(*answers)
    params = {"token": token_uri(ws, label), "algorithm": EC, "subject": subject}
    if key_label is not None:
        params["label"] = key_label
    return ws.call("keys.generate", params)


def shown_clean(text):
    """No character that adds lines, reverses a sentence or hides itself."""
    return not any(c in text for c in INVISIBLE)


# --- certificates built as a CA (or an attacker) would ------------------------

def now():
    return datetime.datetime.now(datetime.timezone.utc)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class CA:
    """A CA key and certificate: a root (issuer None) or one issued by another CA."""

    def __init__(self, cn, issuer=None):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = name(cn)
        signer = issuer or self
        b = (x509.CertificateBuilder().subject_name(self.name).issuer_name(signer.name)
             .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now() - datetime.timedelta(days=1))
             .not_valid_after(now() + datetime.timedelta(days=365))
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True))
        self.cert = b.sign(signer.key, hashes.SHA256())

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, public_key, subject):
        """A leaf for public_key; subject is an x509.Name or a CN."""
        if isinstance(subject, str):
            subject = name(subject)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.name)
                .public_key(public_key).serial_number(x509.random_serial_number())
                .not_valid_before(now() - datetime.timedelta(days=1))
                .not_valid_after(now() + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM).decode()


def csr_key(csr_pem):
    return x509.load_pem_x509_csr(csr_pem.encode()).public_key()


def certificates(label):
    return [o for o in hsm.objects(label) if o["kind"] == "Certificate"]


# --- item 4: long origins hide the real domain ---------------------------------

def test_a_long_origin_shows_its_site_and_never_loses_the_end_of_its_host():
    """Item 4: 229 characters ending in .evil.example: the consent and PIN dialogs
    show "evil.example" in the title and first, and the origin's end stays."""
    ws = daemon.connect(origin=LONG_ORIGIN, timeout=60)
    try:
        # Consent ("Allow once"), then the PIN dialog of the key generation.
        r = keygen(ws, "dialogs", {"CN": "Joe Doe"}, answers=("notok", "cancel"))
        assert error_reason(r) == "USER_CANCELLED", r
    finally:
        ws.close()
    titles, descs = dialogs.lines("SETTITLE"), dialogs.lines("SETDESC")
    assert len(titles) == 2 and len(descs) == 2, dialogs.shown()
    for title, desc in zip(titles, descs):
        assert title == "cardbridge: evil.example", title
        assert desc.startswith("Site: evil.example\\n"), desc
        first = desc.split("\\n")[1]
        shown = first.split(" ")[1 if first.startswith("Allow ") else 0]
        assert shown.startswith("https://\u2026") and shown.endswith(".evil.example"), first
        assert len(shown) <= 80 and LONG_HOST[-40:] in shown, shown


# --- item 5: names cannot rewrite the dialog ------------------------------------

def test_token_labels_and_certificate_names_cannot_add_lines_or_reverse_the_dialog():
    """Item 5: U+202E in a token label, U+2028/U+2029 and bidi controls in a
    subject or issuer: dropped or made spaces; long names cut by characters,
    marked with an ellipsis; never cut UTF-8."""
    ws = daemon.connect(timeout=60)
    try:
        r = keygen(ws, RLO_LABEL, {"CN": "Joe Doe"}, answers=("cancel",))
        assert error_reason(r) == "USER_CANCELLED", r
        desc = dialogs.lines("SETDESC")[0]
        assert shown_clean(desc) and "on the token \"txet\"" in desc, desc
        r = keygen(ws, "dialogs", {"CN": "Eve Example"}, key_label="names")
        key = csr_key(r["result"]["csr"])
        lying = CA("Demo\u202eAC omeD\u2066")
        subject = x509.Name([x509.NameAttribute(
            NameOID.COMMON_NAME,
            "Eve\u2028\u2714 Verified request from https://portal.bank.example\u2029"
            "Press OK to finish")])
        dialogs.answers("cancel")
        r = ws.call("certificates.install", {"certificate": lying.issue(key, subject)})
        assert error_reason(r) == "USER_CANCELLED", r
        desc = dialogs.lines("SETDESC")[0]
        assert shown_clean(desc), desc
        assert "\\n" not in desc.split("\\n\\n")[0].split("\\n", 1)[1], desc  # one sentence
        # Three-byte characters: 30 whole ones are shown whole; 100 are cut to
        # 63 and an ellipsis.
        for cn, shown in (("\u20ac" * 30, "\u20ac" * 30 + " issued by"),
                          ("\u00e9" * 100, "\u00e9" * 63 + "\u2026 issued by")):
            # Longer than X.520 allows: what an attacker's CA may still sign.
            cn = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)])
            dialogs.answers("cancel")
            r = ws.call("certificates.install", {"certificate": lying.issue(key, cn)})
            assert error_reason(r) == "USER_CANCELLED", r
            assert "for " + shown in dialogs.lines("SETDESC")[0], dialogs.lines("SETDESC")
    finally:
        ws.close()


# --- item 6: queued dialogs do not look identical -------------------------------

def test_two_requests_of_a_page_never_get_word_for_word_the_same_dialog():
    """Item 6: the key's label and subject are in the text, and the same request
    again says it is the second one."""
    ws = daemon.connect(timeout=60)
    try:
        descs = []
        for cn in ("Anna Alpha", "Bert Beta", "Bert Beta"):
            assert error_reason(keygen(ws, "dialogs", {"CN": cn}, key_label="work key",
                                       answers=("cancel",))) == "USER_CANCELLED"
            descs.append(dialogs.lines("SETDESC")[0])
        assert "generate an EC P-256 key pair \"work key\" for Anna Alpha on" in descs[0], descs
        assert "for Bert Beta on" in descs[1] and "request number" not in descs[1], descs
        # The very same request again: told apart by its number.
        assert descs[2] == descs[1].replace(
            ").\\n\\n", "). This page asked for the same before: this is request number 2."
            "\\n\\n"), descs
    finally:
        ws.close()


# --- item 7: certificates only where they belong --------------------------------

def other_tool_key(label, key_id, real_ca):
    """A key pair and its certificate made by other tools (pkcs11-tool), as
    found on cards issued elsewhere; returns the public key."""
    hsm.tool(label, "--keypairgen", "--key-type", "EC:prime256v1", "--id", key_id,
             "--label", "other tool", login=True)
    public = serialization.load_der_public_key(hsm.read_public_key(label, key_id))
    path = os.path.join(tempfile.mkdtemp(prefix="cb-dialogs-"), "cert.der")
    pem = real_ca.issue(public, "Real Holder")
    with open(path, "wb") as f:
        f.write(x509.load_pem_x509_certificate(pem.encode()).public_bytes(
            serialization.Encoding.DER))
    hsm.tool(label, "--write-object", path, "--type", "cert", "--id", key_id, "--label",
             "other tool", login=True)
    return public


def test_a_forged_certificate_for_a_key_that_has_one_is_refused_before_any_dialog():
    """Item 7: a key made by other tools, with its certificate: a page's
    certificate for that key, with another subject and an issuer named like the
    real CA, is KEY_HAS_CERTIFICATE and nothing is written, no PIN asked."""
    real = CA("Real CA")
    public = other_tool_key("foreign", "77", real)
    forger = CA("Real CA")          # the same name, another key
    before = hsm.objects("foreign")
    dialogs.answers("pin " + softhsm.PIN)
    ws = daemon.connect(timeout=60)
    try:
        r = ws.call("certificates.install", {"certificate": forger.issue(public, "Mallory"),
                                             "label": "other tool"})
    finally:
        ws.close()
    assert error_reason(r) == "KEY_HAS_CERTIFICATE", r
    assert dialogs.shown() == "", dialogs.shown()
    assert hsm.objects("foreign") == before


def test_only_issuers_on_the_path_are_stored_and_the_dialog_names_each():
    """Item 7: of a chain with the real intermediate and root, an unrelated CA
    and one named like the intermediate with another key, only the first two
    are stored; the others are in notStored with the reason; the PIN dialog
    names every certificate it writes."""
    root = CA("Demo Root CA")
    sub = CA("Demo Sub CA", root)
    unrelated, lookalike = CA("Unrelated CA"), CA("Demo Sub CA")
    ws = daemon.connect(timeout=60)
    try:
        r = keygen(ws, "chain", {"CN": "Carl Chain"})
        leaf = sub.issue(csr_key(r["result"]["csr"]), "Carl Chain")
        dialogs.answers("pin " + softhsm.PIN)
        res = ws.result("certificates.install", {
            "certificate": leaf,
            "chain": [unrelated.pem(), lookalike.pem(), root.pem(), sub.pem()]})
        assert [c["subject"] for c in res["installed"]] == \
            ["CN=Carl Chain", "CN=Demo Root CA", "CN=Demo Sub CA"], res
        assert res["notStored"] == [
            {"subject": "CN=Unrelated CA", "reason": "not an issuer on the certificate's path"},
            {"subject": "CN=Demo Sub CA", "reason": "not an issuer on the certificate's path"},
        ], res
        op = dialogs.lines("SETDESC")[0]
        assert ("asks to store the certificate for Carl Chain issued by Demo Sub CA, and the "
                "CA certificates Demo Root CA, Demo Sub CA on the token") in op, op
        assert "Unrelated" not in op, op
        assert len(certificates("chain")) == 3
        # The leaf is there; only a new CA certificate goes: the dialog says so.
        top = CA("Demo Top CA")
        cross = x509.CertificateBuilder().subject_name(root.name).issuer_name(top.name) \
            .public_key(root.key.public_key()).serial_number(x509.random_serial_number()) \
            .not_valid_before(now() - datetime.timedelta(days=1)) \
            .not_valid_after(now() + datetime.timedelta(days=30)) \
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True) \
            .sign(top.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()
        dialogs.answers("cancel")
        r = ws.call("certificates.install", {"certificate": leaf,
                                             "chain": [sub.pem(), cross, top.pem()]})
        assert error_reason(r) == "USER_CANCELLED", r
        op = dialogs.lines("SETDESC")[0]
        assert ("asks to store the CA certificates Demo Root CA, Demo Top CA for the "
                "certificate of Carl Chain on the token") in op, op
        assert "store the certificate for" not in op, op
    finally:
        ws.close()


def test_a_second_certificate_for_a_key_needs_add_and_a_dialog_that_says_so():
    """Item 7: a renewal for the same key is KEY_HAS_CERTIFICATE without "add";
    with it, the PIN dialog says that the key has a certificate already."""
    ca = CA("Renewal CA")
    ws = daemon.connect(timeout=60)
    try:
        r = keygen(ws, "dialogs", {"CN": "Rita Renew"}, key_label="renewed")
        key = csr_key(r["result"]["csr"])
        dialogs.answers("pin " + softhsm.PIN)
        ws.result("certificates.install", {"certificate": ca.issue(key, "Rita Renew")})
        renewal = ca.issue(key, "Rita Renew")
        dialogs.answers("pin " + softhsm.PIN)
        assert error_reason(ws.call("certificates.install", {"certificate": renewal})) == \
            "KEY_HAS_CERTIFICATE"
        assert dialogs.shown() == "", dialogs.shown()
        res = ws.result("certificates.install", {"certificate": renewal, "add": True})
        assert len(res["installed"]) == 1, res
        assert ("asks to add the certificate for Rita Renew issued by Renewal CA to a key that "
                "already has a certificate on the token") in dialogs.lines("SETDESC")[0]
    finally:
        ws.close()


if __name__ == "__main__":
    cbtest.run_tests(globals(), setup, teardown, missing)
