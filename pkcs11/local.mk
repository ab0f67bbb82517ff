# pkcs11/: cardbridge-pkcs11-helper, the only program that loads a PKCS#11
# module or holds a PIN (doc/HELPER-IPC.md).
libexec_PROGRAMS += pkcs11/cardbridge-pkcs11-helper
pkcs11_cardbridge_pkcs11_helper_SOURCES = \
	pkcs11/helper.h pkcs11/helper.c \
	pkcs11/log.h pkcs11/log.c \
	pkcs11/request.h pkcs11/request.c pkcs11/request_object.c \
	pkcs11/progress.h pkcs11/progress.c \
	pkcs11/worker.h pkcs11/worker.c \
	pkcs11/field.h pkcs11/field.c \
	pkcs11/secret.h pkcs11/secret.c \
	pkcs11/module.h pkcs11/module.c \
	pkcs11/p11_error.h pkcs11/p11_error.c \
	pkcs11/token.h pkcs11/token.c \
	pkcs11/pcsc.h pkcs11/pcsc.c \
	pkcs11/claim.h pkcs11/claim.c \
	pkcs11/card.h pkcs11/card.c \
	pkcs11/token_capabilities.h pkcs11/token_capabilities.c \
	pkcs11/tokenlist.c \
	pkcs11/token_session.h pkcs11/token_session.c \
	pkcs11/token_lock.h pkcs11/token_lock.c \
	pkcs11/login.h pkcs11/login.c \
	pkcs11/cleanup.h pkcs11/cleanup.c pkcs11/cleanup_journal.h pkcs11/cleanup_journal.c \
	pkcs11/dialog.h pkcs11/dialog.c \
	pkcs11/dialog_words.h pkcs11/dialog_words.c \
	pkcs11/dialog_guard.h pkcs11/dialog_guard.c \
	pkcs11/pin.h pkcs11/pin.c \
	pkcs11/origin_confirm.c \
	pkcs11/pem.h pkcs11/pem.c \
	pkcs11/pubkey.h pkcs11/pubkey.c \
	pkcs11/csr.h pkcs11/csr.c \
	pkcs11/keyattrs.h pkcs11/keyattrs.c \
	pkcs11/keygen.c \
	pkcs11/abandon.h pkcs11/abandon.c \
	pkcs11/x509.h pkcs11/x509.c \
	pkcs11/chain.h pkcs11/chain.c \
	pkcs11/cert_words.h pkcs11/cert_words.c \
	pkcs11/certs.c pkcs11/cert_check.h pkcs11/cert_check.c pkcs11/cert_object.h pkcs11/cert_object.c \
	pkcs11/certlist.c \
	pkcs11/opensc_conf.h pkcs11/opensc_conf.c \
	pkcs11/token_manage.h pkcs11/token_manage.c \
	pkcs11/pin_new.c \
	pkcs11/pins.c \
	pkcs11/objects.h pkcs11/objects.c \
	pkcs11/keylist.c \
	pkcs11/objects_delete.c
pkcs11_cardbridge_pkcs11_helper_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(OPENSSL_CFLAGS) \
	$(P11KIT_CFLAGS) $(ASSUAN_CFLAGS) $(PCSC_CFLAGS)
pkcs11_cardbridge_pkcs11_helper_LDADD = common/libcbcommon.a protocol/libcbproto.a $(JSONC_LIBS) $(OPENSSL_LIBS) \
	$(P11KIT_LIBS) $(ASSUAN_LIBS) $(PCSC_LIBS) $(PTHREAD_LIBS)

# The helper's own black-box tier against SoftHSM2, spoken to in frames over
# a socketpair (tests/local.mk provides the .py log driver, CB_HELPER, and
# ships tests/softhsm.py and tests/fake-pinentry).
TESTS += tests/test-helper.py
EXTRA_DIST += tests/test-helper.py
