#!/usr/bin/python3
"""DEMO ONLY: the demo portal's web server and a toy certificate authority.

Serves, on a loopback address only:
  /                 the demo portal (examples/portal/)
  /lib/...          the client library (clients/js/), so the page imports the
                    real file and nothing is copied
  /config.json      {"helperPort": N} for the page
  /ca/ca.pem        the demo CA's certificate
  POST /ca/sign     {"csr": PEM} -> {"certificate", "chain", "summary"}

The CA signs any well-formed CSR whose signature verifies, for one year,
as a client-authentication / e-mail certificate.  It has no policy, no
identity checks, no revocation: it exists so that the wizard can run end to
end on one machine.  Its key is kept in --state (default: a temporary
folder removed at exit).  Needs python3-cryptography (Debian 12).

    demo-ca.py [--port 8080] [--bind 127.0.0.1] [--helper-port 48801]
               [--state DIR] [--tls-cert PEM --tls-key PEM] [--ca-name NAME]
               [--connect-src SOURCES]
"""
import argparse
import datetime
import ipaddress
import json
import mimetypes
import os
import secrets
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTAL_DIR = os.path.join(TOP, "examples", "portal")
LIB_DIR = os.path.join(TOP, "clients", "js")
MAX_BODY = 64 * 1024
NAMES = {NameOID.EMAIL_ADDRESS: "emailAddress"}
ALLOWED_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384"}

# What the portal page may do: its own files, and the local helper (WebSocket
# plus the plain-HTTP probe the client library makes, where the browser lets
# it without asking the user, to tell "not running" from "not allowed").  A
# real portal sends the same connect-src entries.  A CSP cannot name an IPv6
# host ([::1] is not a valid host-source, and both browsers ignore it), so a
# page with a policy reaches the helper on 127.0.0.1 or localhost only.
# --connect-src replaces them (the browser tests use it to see a page whose
# policy forgot one).
CONNECT_SRC = ("'self' ws://127.0.0.1:{port} http://127.0.0.1:{port} "
               "ws://localhost:{port} http://localhost:{port}")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


class DemoCA:
    def __init__(self, state_dir, name):
        self.lock = threading.Lock()
        key_path = os.path.join(state_dir, "demo-ca.key")
        cert_path = os.path.join(state_dir, "demo-ca.pem")
        if os.path.exists(key_path) and os.path.exists(cert_path):
            with open(key_path, "rb") as f:
                self.key = serialization.load_pem_private_key(f.read(), None)
            with open(cert_path, "rb") as f:
                self.cert = x509.load_pem_x509_certificate(f.read())
            return
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cardbridge demo (not a real CA)"),
        ])
        now = datetime.datetime.now(datetime.timezone.utc)
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (x509.CertificateBuilder()
                     .subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                  False, False), critical=True)
                     .add_extension(ski, critical=False)
                     .sign(self.key, hashes.SHA256()))
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        with open(cert_path, "wb") as f:
            f.write(self.cert.public_bytes(serialization.Encoding.PEM))

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, csr_pem):
        """Issue a certificate for the CSR; raises ValueError with a readable reason."""
        if not isinstance(csr_pem, str) or "BEGIN CERTIFICATE REQUEST" not in csr_pem:
            raise ValueError("this is not a PEM certificate request (CSR)")
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError:
            raise ValueError("the certificate request (CSR) cannot be read")
        if not csr.is_signature_valid:
            raise ValueError("the certificate request's signature does not verify")
        pub = csr.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            if pub.key_size < 2048:
                raise ValueError("RSA keys shorter than 2048 bits are not accepted")
            usage = x509.KeyUsage(True, True, True, False, False, False, False, False, False)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            if pub.curve.name not in ALLOWED_CURVES:
                raise ValueError("only P-256 and P-384 keys are accepted")
            usage = x509.KeyUsage(True, True, False, False, True, False, False, False, False)
        else:
            raise ValueError("only RSA and EC keys are accepted")
        if not csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            raise ValueError("the request has no common name (CN)")
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (x509.CertificateBuilder()
                   .subject_name(csr.subject).issuer_name(self.cert.subject)
                   .public_key(pub)
                   .serial_number(int.from_bytes(secrets.token_bytes(12), "big") | (1 << 94))
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(usage, critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                                         ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                                  critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.key.public_key()), critical=False))
        emails = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]
        if emails:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(e) for e in emails]), critical=False)
        with self.lock:
            cert = builder.sign(self.key, hashes.SHA256())
        return cert

    @staticmethod
    def summary(cert):
        return {
            "subject": cert.subject.rfc4514_string(NAMES),
            "issuer": cert.issuer.rfc4514_string(NAMES),
            "serial": format(cert.serial_number, "x"),
            "notBefore": cert.not_valid_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "notAfter": cert.not_valid_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def make_handler(ca, helper_port, quiet, connect_src=None):
    csp = CSP.format(connect=(connect_src or CONNECT_SRC).format(port=helper_port))

    class Handler(BaseHTTPRequestHandler):
        server_version = "cardbridge-demo-ca"
        sys_version = ""

        def log_message(self, fmt, *args):
            if not quiet:
                sys.stderr.write("demo-ca: %s\n" % (fmt % args))

        def send(self, status, body, ctype, extra=()):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def send_json(self, status, obj):
            self.send(status, json.dumps(obj), "application/json")

        def static(self, root, rel):
            rel = rel.split("?", 1)[0].split("#", 1)[0]
            if rel in ("", "/"):
                rel = "index.html"
            path = os.path.realpath(os.path.join(root, rel.lstrip("/")))
            if not path.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(path):
                self.send(404, "not found\n", "text/plain; charset=utf-8")
                return
            ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
            if path.endswith((".js", ".mjs")):
                ctype = "text/javascript"
            if ctype.startswith("text/") and "charset" not in ctype:
                ctype += "; charset=utf-8"
            with open(path, "rb") as f:
                body = f.read()
            extra = [("Content-Security-Policy", csp)] if ctype.startswith("text/html") else []
            self.send(200, body, ctype, extra)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/config.json":
                self.send_json(200, {"helperPort": helper_port, "demo": True})
            elif path == "/ca/ca.pem":
                self.send(200, ca.pem(), "application/x-pem-file")
            elif path.startswith("/lib/"):
                self.static(LIB_DIR, path[len("/lib/"):])
            else:
                self.static(PORTAL_DIR, path)

        do_HEAD = do_GET

        def do_POST(self):
            if self.path != "/ca/sign":
                self.send_json(404, {"error": "not found"})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self.send_json(413, {"error": "the request is too large"})
                return
            if not (self.headers.get("Content-Type", "")).startswith("application/json"):
                self.send_json(415, {"error": "send application/json"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                cert = ca.sign(body.get("csr") if isinstance(body, dict) else None)
            except (ValueError, UnicodeDecodeError) as e:
                self.send_json(400, {"error": str(e)})
                return
            self.send_json(200, {
                "certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
                "chain": [ca.pem()],
                "summary": DemoCA.summary(cert),
            })

    return Handler


class TLSThreadingServer(ThreadingHTTPServer):
    """HTTP or, with .tls set, HTTPS; the TLS handshake runs in the request's
    own thread, so a browser's idle pre-connection never blocks accept()."""
    tls = None
    daemon_threads = True

    def finish_request(self, request, client_address):
        if self.tls is not None:
            request.settimeout(30)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            try:
                super().finish_request(request, client_address)
            finally:
                request.close()
            return
        super().finish_request(request, client_address)


def is_loopback(addr):
    if addr == "localhost":
        return True
    try:
        return ipaddress.ip_address(addr.strip("[]")).is_loopback
    except ValueError:
        return False


def main():
    ap = argparse.ArgumentParser(description="DEMO ONLY: demo portal server and toy CA")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--bind", default="127.0.0.1", help="a loopback address")
    ap.add_argument("--helper-port", type=int, default=48801)
    ap.add_argument("--state", help="keep the CA key here (default: temporary)")
    ap.add_argument("--tls-cert", help="serve https with this certificate (PEM)")
    ap.add_argument("--tls-key", help="... and this key (PEM)")
    ap.add_argument("--ca-name", default="cardbridge Demo CA (DEMO ONLY)")
    ap.add_argument("--quiet", action="store_true", help="no request log")
    ap.add_argument("--connect-src", help="the page CSP's connect-src sources ({port}: the "
                    "helper's port; default: 'self' and the helper's ws:// and http://)")
    args = ap.parse_args()
    if not is_loopback(args.bind):
        ap.error("--bind must be a loopback address: this demo CA signs anything")
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")

    tmp = None
    state = args.state
    if state is None:
        state = tmp = tempfile.mkdtemp(prefix="cardbridge-demo-ca-")
    os.makedirs(state, mode=0o700, exist_ok=True)
    try:
        ca = DemoCA(state, args.ca_name)
        server_cls = TLSThreadingServer
        if ":" in args.bind:
            class V6(TLSThreadingServer):
                address_family = socket.AF_INET6
            server_cls = V6
        server = server_cls((args.bind.strip("[]"), args.port),
                            make_handler(ca, args.helper_port, args.quiet, args.connect_src))
        scheme = "http"
        if args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
            server.tls = ctx
            scheme = "https"
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        print("demo-ca: serving %s://%s:%d/ (DEMO CA: %s)" % (
            scheme, args.bind, server.server_address[1], args.ca_name), flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
