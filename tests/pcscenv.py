"""A private pcscd + vpcd + virtual OpenPGP card for the Python card tier.

The same recipe as tests/vcard/pcsc-env.sh (which the shell tiers source):
cardbridge-pcscd-launch hands pcscd a socket in our temp dir (pcscd 1.9.9
binds /run/pcscd otherwise), vpcd listens on a free even port below the
ephemeral range, and an opensc.conf limits OpenSC to the OpenPGP driver.
Every process is started and stopped by PID; every wait is bounded.
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


def missing():
    for path, what in ((VPCD_DRIVER, "vsmartcard-vpcd"), (OPENSC_MODULE, "opensc-pkcs11"),
                       (VCARD, "cardbridge-vcard (make check builds it)"),
                       (LAUNCH, "cardbridge-pcscd-launch")):
        if not os.path.exists(path):
            return "%s missing (%s)" % (what, path)
    for tool in ("pcscd", "opensc-tool", "pkcs11-tool"):
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
    def __init__(self):
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
        self.opensc_conf = os.path.join(self.dir, "opensc.conf")
        with open(self.opensc_conf, "w") as f:
            f.write("app default {\n\tcard_drivers = openpgp, internal;\n"
                    "\treader_driver pcsc { enable_pinpad = false; }\n"
                    "\tframework pkcs15 { use_file_caching = no; }\n}\n")
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
        """Start the virtual card (state persists in self.state) and wait for pcscd to see it."""
        log = open(os.path.join(self.dir, "vcard.log"), "a")
        self.card = subprocess.Popen([VCARD, "--port", str(self.port), "--state", self.state]
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

    def pkcs11_tool(self, *args, check=True):
        p = subprocess.run(["pkcs11-tool", "--module", OPENSC_MODULE] + list(args),
                           env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
        out = p.stdout.decode(errors="replace")
        if check and p.returncode != 0:
            raise RuntimeError("pkcs11-tool %s: %s" % (" ".join(args), out))
        return out

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
