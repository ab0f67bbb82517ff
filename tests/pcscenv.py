"""A private pcscd + vpcd + virtual card for the Python card tiers.

The same recipe as tests/vcard/pcsc-env.sh (which the shell tiers source):
cardbridge-pcscd-launch hands pcscd a socket in our temp dir (pcscd 1.9.9
binds /run/pcscd otherwise), vpcd listens on a free even port below the
ephemeral range, and an opensc.conf limits OpenSC to the OpenPGP and
isoApplet drivers. Every process is started and stopped by PID; every wait
is bounded.

The card is the virtual OpenPGP card 3.4 by default. PcscEnv("isoapplet")
makes it a Java Card with IsoApplet, which leaves the factory empty:

    env = pcscenv.PcscEnv("isoapplet")
    env.insert()
    env.personalise_isoapplet()      # user PIN USER_PIN, PUK PUK
    conf = env.opensc_conf_with("unblock",
                                "user_pin_unblock_style = set_pin_in_unlogged_session;")
    env.pkcs11_tool("--unlock-pin", "--puk", pcscenv.PUK, "--new-pin", pcscenv.USER_PIN,
                    opensc_conf=conf)
"""
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

SRCDIR = os.environ.get("CB_SRCDIR", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("CB_BUILDDIR", SRCDIR)
VCARD = os.environ.get("CB_VCARD", os.path.join(BUILDDIR, "tests", "vcard", "cardbridge-vcard"))
LAUNCH = os.path.join(os.path.dirname(VCARD), "cardbridge-pcscd-launch")
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
OPENSC_MODULE = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
USER_PIN = "123456"
ADMIN_PIN = "12345678"
# IsoApplet's PUK is exactly 16 characters: OpenSC's isoApplet profile and
# the applet refuse any other length, so it cannot be ADMIN_PIN.
PUK = "1234567812345678"
LABEL = "cardbridge test"
PERSONALITIES = ("openpgp", "isoapplet")


def write_opensc_conf(path, pkcs11=""):
    """An opensc.conf for the virtual cards; pkcs11: settings for OpenSC's
    PKCS#11 module, e.g. "user_pin_unblock_style = init_pin_in_so_session;".
    openpgp matches the OpenPGP card on its first SELECT, isoApplet the
    IsoApplet card on the next, internal catches anything else."""
    with open(path, "w") as f:
        f.write("# written by tests/pcscenv.py for the virtual cards\n")
        if pkcs11:
            f.write("app opensc-pkcs11 {\n\tpkcs11 {\n\t\t%s\n\t}\n}\n" % pkcs11)
        f.write("app default {\n\tcard_drivers = openpgp, isoApplet, internal;\n"
                "\treader_driver pcsc { enable_pinpad = false; }\n"
                "\tframework pkcs15 { use_file_caching = no; }\n}\n")
    return path


def missing():
    for path, what in ((VPCD_DRIVER, "vsmartcard-vpcd"), (OPENSC_MODULE, "opensc-pkcs11"),
                       (VCARD, "cardbridge-vcard (make check builds it)"),
                       (LAUNCH, "cardbridge-pcscd-launch")):
        if not os.path.exists(path):
            return "%s missing (%s)" % (what, path)
    for tool in ("pcscd", "opensc-tool", "pkcs11-tool", "pkcs15-init"):
        if shutil.which(tool) is None:
            return tool + " not installed"
    return None


def _listening(port):
    hexport = ":%04X " % port
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[1].endswith(hexport.strip()) and fields[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def _wait(what, cond, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


class PcscEnv:
    def __init__(self, personality="openpgp"):
        if personality not in PERSONALITIES:
            raise ValueError("personality must be one of %s" % (PERSONALITIES,))
        self.personality = personality
        self.dir = tempfile.mkdtemp(prefix="cb-pcsc-")
        self.card = None
        self.card_args = []
        for _ in range(50):
            port = 20000 + random.randrange(6384) * 2
            if not _listening(port) and not _listening(port + 1):
                break
        self.port = port
        os.mkdir(os.path.join(self.dir, "reader.conf.d"))
        with open(os.path.join(self.dir, "reader.conf.d", "vpcd"), "w") as f:
            f.write('FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:%d\nLIBPATH %s\n'
                    'CHANNELID %d\n' % (port, VPCD_DRIVER, port))
        self.opensc_conf = write_opensc_conf(os.path.join(self.dir, "opensc.conf"))
        self.socket = os.path.join(self.dir, "pcscd.comm")
        self.env = dict(os.environ, PCSCLITE_CSOCK_NAME=self.socket,
                        OPENSC_CONF=self.opensc_conf)
        self.state = os.path.join(self.dir, "card.state")
        self.pcscd = None
        self.start_pcscd()

    def start_pcscd(self):
        log = open(os.path.join(self.dir, "pcscd.log"), "a")
        self.pcscd = subprocess.Popen([LAUNCH, self.socket, "pcscd", "--foreground", "-c",
                                       os.path.join(self.dir, "reader.conf.d")],
                                      stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                      env=self.env)
        _wait("pcscd and vpcd", lambda: os.path.exists(self.socket) and _listening(self.port))

    def kill_pcscd(self):
        self.pcscd.kill()
        self.pcscd.wait()
        try:
            os.unlink(self.socket)
        except OSError:
            pass
        if self.card and self.card.poll() is None:
            self.card.kill()
            self.card.wait()

    def card_present(self):
        p = subprocess.run(["opensc-tool", "-r", "0", "-a"], env=self.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        return p.returncode == 0

    def insert(self, *args):
        """Start the virtual card (state persists in self.state) and wait for pcscd to see it.
        args: more cardbridge-vcard options (--remove-after N, --keygen-delay-ms N,
        --apdu-count FILE, ...)."""
        log = open(os.path.join(self.dir, "vcard.log"), "a")
        self.card = subprocess.Popen([VCARD, "--personality", self.personality,
                                      "--port", str(self.port), "--state", self.state]
                                     + list(args), stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, env=self.env)
        _wait("the virtual card", lambda: self.card.poll() is not None or self.card_present())
        if self.card.poll() is not None:
            raise RuntimeError("cardbridge-vcard exited %d" % self.card.returncode)

    def remove(self):
        if self.card and self.card.poll() is None:
            self.card.send_signal(signal.SIGTERM)
            try:
                self.card.wait(5)
            except subprocess.TimeoutExpired:
                self.card.kill()
                self.card.wait()
        _wait("the reader to be empty", lambda: not self.card_present())

    def opensc_conf_with(self, name, pkcs11=""):
        """Write DIR/NAME.conf with these PKCS#11 module settings; returns its path,
        for the opensc_conf= argument of pkcs11_tool() or an OPENSC_CONF of your own."""
        return write_opensc_conf(os.path.join(self.dir, name + ".conf"), pkcs11)

    def run(self, argv, check=True, opensc_conf=None, timeout=120):
        """Run an OpenSC tool against this pcscd; returns its output (stdout + stderr)."""
        env = dict(self.env, OPENSC_CONF=opensc_conf) if opensc_conf else self.env
        p = subprocess.run(list(argv), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout)
        out = p.stdout.decode(errors="replace")
        if check and p.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(argv), out))
        return out

    def pkcs11_tool(self, *args, check=True, opensc_conf=None):
        return self.run(["pkcs11-tool", "--module", OPENSC_MODULE] + list(args), check=check,
                        opensc_conf=opensc_conf)

    def personalise_isoapplet(self, pin=USER_PIN, puk=PUK, label=LABEL, extra=()):
        """Personalise the IsoApplet card as an issuer would: OpenSC's pkcs15-init with
        its isoApplet profile creates the PKCS#15 application and the one PIN, which
        OpenSC's PKCS#11 module shows as the user PIN (the profile calls it so-pin),
        with its PUK. extra: more pkcs15-init options, e.g. ("--serial", "0123")."""
        if self.personality != "isoapplet":
            raise RuntimeError("only the isoapplet card is personalised")
        return self.run(["pkcs15-init", "--create-pkcs15", "--so-pin", pin, "--so-puk", puk,
                         "--label", label] + list(extra), timeout=60)

    def stop(self):
        if self.card and self.card.poll() is None:
            self.card.kill()
            self.card.wait()
        if self.pcscd and self.pcscd.poll() is None:
            self.pcscd.terminate()
            try:
                self.pcscd.wait(5)
            except subprocess.TimeoutExpired:
                self.pcscd.kill()
                self.pcscd.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
