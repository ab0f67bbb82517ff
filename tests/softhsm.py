"""Throw-away SoftHSM2 tokens for tests, and pkcs11-tool to look at them.

    hsm = softhsm.SoftHSM(["cardbridge A", "cardbridge B"])
    hsm.env            # environment with SOFTHSM2_CONF for the helper
    hsm.objects("cardbridge A", login=True)   # parsed `pkcs11-tool -O`
    hsm.cleanup()

Everything lives in a temporary directory: the tokens never touch the
user's own SoftHSM configuration.  pkcs11-tool is the independent view of
what the helper did to a token.
"""
import os
import re
import shutil
import subprocess
import tempfile

MODULE = "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"
PIN = "123456"
SO_PIN = "12345678"


def missing():
    """Why SoftHSM tests cannot run here, or None."""
    if not os.path.exists(MODULE):
        return "SoftHSM2 module not installed (%s)" % MODULE
    for tool in ("softhsm2-util", "pkcs11-tool", "openssl"):
        if shutil.which(tool) is None:
            return "%s not installed" % tool
    return None


class SoftHSM:
    def __init__(self, labels, pin=PIN, so_pin=SO_PIN):
        self.dir = tempfile.mkdtemp(prefix="cb-softhsm-")
        self.module = MODULE
        self.pin = pin
        self.so_pin = so_pin
        tokendir = os.path.join(self.dir, "tokens")
        os.mkdir(tokendir)
        self.conf = os.path.join(self.dir, "softhsm2.conf")
        with open(self.conf, "w") as f:
            f.write("directories.tokendir = %s\n" % tokendir)
            f.write("objectstore.backend = file\nlog.level = ERROR\n")
        self.env = dict(os.environ, SOFTHSM2_CONF=self.conf)
        for label in labels:
            self.run(["softhsm2-util", "--init-token", "--free", "--label", label,
                      "--so-pin", so_pin, "--pin", pin])
        self.labels = list(labels)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, argv, check=True):
        p = subprocess.run(argv, env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (argv[0], p.returncode,
                                                    p.stderr.decode(errors="replace")))
        return p

    def tool(self, label, *args, login=False):
        """Run pkcs11-tool on the token with this label; returns stdout text."""
        argv = ["pkcs11-tool", "--module", self.module, "--token-label", label]
        if login:
            argv += ["--login", "--pin", self.pin]
        return self.run(argv + list(args)).stdout.decode(errors="replace")

    def objects(self, label, login=True):
        """`pkcs11-tool -O` as a list of dicts: kind, type, label, id, usage, access,
        and for EC public keys ec_point and ec_params (hex)."""
        return parse_objects(self.tool(label, "-O", login=login))

    def read_public_key(self, label, key_id):
        """The public key object with CKA_ID key_id (hex), as DER SubjectPublicKeyInfo.

        pkcs11-tool of OpenSC 0.23 cannot --read-object a P-384 key ("cannot
        create EVP_PKEY"); EC keys are then rebuilt from the CKA_EC_POINT and
        CKA_EC_PARAMS that `pkcs11-tool -O` prints.
        """
        out = os.path.join(self.dir, "pub-%s.der" % key_id)
        argv = ["pkcs11-tool", "--module", self.module, "--token-label", label,
                "--read-object", "--type", "pubkey", "--id", key_id, "-o", out]
        if self.run(argv, check=False).returncode == 0:
            with open(out, "rb") as f:
                return f.read()
        for obj in self.objects(label, login=False):
            if obj["kind"] == "Public Key" and obj["id"] == key_id and "ec_point" in obj:
                return ec_spki(obj["ec_point"], obj["ec_params"])
        raise RuntimeError("pkcs11-tool cannot read public key %s on %s" % (key_id, label))


EC_CURVES = {"06082a8648ce3d030107": "SECP256R1", "06052b81040022": "SECP384R1",
             "06052b81040023": "SECP521R1"}


def ec_spki(point_hex, params_hex):
    """DER SubjectPublicKeyInfo from CKA_EC_POINT (a DER OCTET STRING) and CKA_EC_PARAMS."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    point = bytes.fromhex(point_hex)
    if point[0] == 0x04 and point[1] == 0x81:
        point = point[3:]
    elif point[0] == 0x04 and point[1] == len(point) - 2:
        point = point[2:]
    curve = getattr(ec, EC_CURVES[params_hex.lower()])()
    key = ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def parse_objects(text):
    objects = []
    for line in text.splitlines():
        head = re.match(r"^(Private Key|Public Key|Certificate|Data|Secret Key) Object;\s*(.*)$",
                        line)
        if head:
            objects.append({"kind": head.group(1), "type": head.group(2).strip()})
            continue
        field = re.match(r"^\s+([A-Za-z_ ]+):\s*(.*)$", line)
        if field and objects:
            key = field.group(1).strip().lower()
            objects[-1].setdefault(key, field.group(2).strip())
    for obj in objects:
        obj["id"] = obj.get("id", "").lower()
        obj["usage"] = [u.strip() for u in obj.get("usage", "").split(",") if u.strip()]
        obj["access"] = [a.strip() for a in obj.get("access", "").split(",") if a.strip()]
    return objects


def create_object(hsm, label, attributes):
    """C_CreateObject on the token with this label, logged in as the user, with
    attributes a list of (CKA_ type, bytes); for objects pkcs11-tool cannot
    write (e.g. a certificate with CKA_PRIVATE true).  Straight through ctypes
    into the SoftHSM2 module, in this process (SOFTHSM2_CONF set for it)."""
    import ctypes
    os.environ["SOFTHSM2_CONF"] = hsm.conf
    lib = ctypes.CDLL(hsm.module)
    ulong = ctypes.c_ulong

    class Attribute(ctypes.Structure):
        _fields_ = [("type", ulong), ("value", ctypes.c_void_p), ("length", ulong)]

    def check(rv, what):
        if rv != 0:
            raise RuntimeError("%s: CKR 0x%x" % (what, rv))

    check(lib.C_Initialize(None), "C_Initialize")
    try:
        count = ulong(16)
        slots = (ulong * 16)()
        check(lib.C_GetSlotList(1, slots, ctypes.byref(count)), "C_GetSlotList")
        info = ctypes.create_string_buffer(512)
        slot = next(s for s in slots[:count.value]
                    if lib.C_GetTokenInfo(ulong(s), info) == 0 and
                    info.raw[:32].decode().rstrip() == label)
        session = ulong()
        check(lib.C_OpenSession(ulong(slot), ulong(0x6), None, None, ctypes.byref(session)),
              "C_OpenSession")
        pin = hsm.pin.encode()
        check(lib.C_Login(session, ulong(1), pin, ulong(len(pin))), "C_Login")
        buffers = [ctypes.create_string_buffer(v, len(v)) for _, v in attributes]
        template = (Attribute * len(attributes))(
            *[Attribute(t, ctypes.cast(b, ctypes.c_void_p), len(b))
              for (t, _), b in zip(attributes, buffers)])
        handle = ulong()
        check(lib.C_CreateObject(session, template, ulong(len(attributes)),
                                 ctypes.byref(handle)), "C_CreateObject")
        lib.C_Logout(session)
        lib.C_CloseSession(session)
    finally:
        lib.C_Finalize(None)
