# tests/vcard/local.mk - automake fragment for the virtual smart card (an
# OpenPGP card, or a Java Card with IsoApplet) used by the card-level
# tiers. Included from the top Makefile.am (non-recursive, subdir-objects):
# paths are relative to the top directory. The top file must define
# check_PROGRAMS, TESTS and EXTRA_DIST with '=' before including this, and
# provide OPENSSL_CFLAGS/OPENSSL_LIBS (PKG_CHECK_MODULES([OPENSSL],
# [libcrypto >= 3.0])) and P11KIT_CFLAGS (for pkcs11.h).
#
# Nothing here is installed: all three programs are check_PROGRAMS.

check_PROGRAMS += \
	tests/vcard/cardbridge-vcard \
	tests/vcard/cardbridge-pcscd-launch \
	tests/vcard/cardbridge-p11-probe

tests_vcard_cardbridge_vcard_SOURCES = \
	tests/vcard/vcard.h \
	tests/vcard/vcard.c \
	tests/vcard/vpcd_link.c \
	tests/vcard/apdu.c \
	tests/vcard/openpgp.c \
	tests/vcard/dos.c \
	tests/vcard/keys.c \
	tests/vcard/state.c \
	tests/vcard/isoapplet.c \
	tests/vcard/isofs.c \
	tests/vcard/isokeys.c \
	tests/vcard/isostate.c
tests_vcard_cardbridge_vcard_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_vcard_cardbridge_vcard_LDADD = $(OPENSSL_LIBS)

tests_vcard_cardbridge_pcscd_launch_SOURCES = tests/vcard/pcscd-launch.c

# dlopen() is in glibc's libc since 2.34; the module is loaded by path.
tests_vcard_cardbridge_p11_probe_SOURCES = tests/vcard/p11-probe.c
tests_vcard_cardbridge_p11_probe_CFLAGS = $(AM_CFLAGS) $(P11KIT_CFLAGS)

TESTS += tests/vcard/test-vcard.sh tests/vcard/test-vcard-isoapplet.sh

EXTRA_DIST += \
	tests/vcard/test-vcard.sh \
	tests/vcard/test-vcard-isoapplet.sh \
	tests/vcard/pcsc-env.sh \
	tests/vcard/tier.sh \
	tests/vcard/README.md
