"""A throw-away test CA for the token tiers (the openssl CLI, as a CA would).

Issues certificates from CSRs the helper returned, so that tests can check
the whole path: key on the token -> CSR -> certificate -> back on the token.
"""
import datetime
import os
import subprocess
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def openssl(*args, input=None):
    p = subprocess.run(["openssl"] + list(args), input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], p.stderr.decode(errors="replace")))
    return p.stdout


class TestCA:
    def __init__(self, name="cardbridge Test CA"):
        self.dir = tempfile.mkdtemp(prefix="cb-ca-")
        self.key = os.path.join(self.dir, "ca.key")
        self.cert = os.path.join(self.dir, "ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "30",
                "-subj", "/CN=" + name)
        self.serial = 0x1000

    def pem(self):
        with open(self.cert) as f:
            return f.read()

    def issue(self, csr_pem, days=30):
        """Sign the CSR with `openssl x509 -req`; returns the certificate PEM."""
        self.serial += 1
        csr = os.path.join(self.dir, "req-%d.pem" % self.serial)
        out = os.path.join(self.dir, "cert-%d.pem" % self.serial)
        with open(csr, "w") as f:
            f.write(csr_pem)
        openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                "-set_serial", str(self.serial), "-days", str(days), "-sha256", "-out", out)
        with open(out) as f:
            return f.read()

    def _key_and_cert(self):
        with open(self.key, "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), None)
        with open(self.cert, "rb") as f:
            return ca_key, x509.load_pem_x509_certificate(f.read())

    def issue_for_public_key(self, public_der_path, out_der_path, cn, days=30):
        """A certificate for a public key read from a token (DER SubjectPublicKeyInfo),
        for keys made without a CSR; written as DER to out_der_path."""
        with open(public_der_path, "rb") as f:
            public_key = serialization.load_der_public_key(f.read())
        ca_key, ca = self._key_and_cert()
        now = datetime.datetime.utcnow()
        self.serial += 1
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca.subject)
                .public_key(public_key).serial_number(self.serial)
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=days))
                .sign(ca_key, hashes.SHA256()))
        with open(out_der_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.DER))

    def issue_expired(self, csr_pem):
        """A certificate for the CSR's key whose validity ended yesterday."""
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        ca_key, ca = self._key_and_cert()
        now = datetime.datetime.utcnow()
        self.serial += 1
        cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject)
                .public_key(csr.public_key()).serial_number(self.serial)
                .not_valid_before(now - datetime.timedelta(days=30))
                .not_valid_after(now - datetime.timedelta(days=1))
                .sign(ca_key, hashes.SHA256()))
        return cert.public_bytes(serialization.Encoding.PEM).decode()


def foreign_certificate():
    """A self-signed certificate for a key that is on no token."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Not on the token")])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def verify_csr(csr_pem):
    """`openssl req -verify`: True when the CSR's self-signature verifies."""
    p = subprocess.run(["openssl", "req", "-verify", "-noout"], input=csr_pem.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return p.returncode == 0 and b"verify OK" in p.stdout


def csr_public_key_der(csr_pem):
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    return csr.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
