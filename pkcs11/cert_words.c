/*
 * cert_words.c - what certificates.install's PIN dialog says it will write
 * (cert_words.h): the certificate by its subject and issuer, and every CA
 * certificate from the chain by name, or that only CA certificates go.
 *
 * Names come from certificates a page sent: each goes through
 * protocol/display.c (dialog_words.c) and is cut by characters.  Must
 * never: leave out a certificate that will be written.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/i18n.h"
#include "pkcs11/cert_words.h"
#include "pkcs11/dialog_words.h"
#include "pkcs11/x509.h"

/* CA certificates a dialog names, and the characters of each name. */
#define CHAIN_NAMES_SHOWN 3
#define CHAIN_NAME_CHARS 40

void
cert_name_shown(const X509_NAME *name, size_t max_chars, char *buf, size_t size)
{
	char *text = x509_common_name(name);

	if (text == NULL)
		text = x509_name_text(name);
	dialog_shown(text, max_chars, buf, size);
	free(text);
}

/* "Demo Root CA, Demo Sub CA and 2 more": the CA certificates to be written. */
static void
chain_names(X509 *const *chain, size_t count, char *buf, size_t size)
{
	char name[DIALOG_FIELD_SIZE];
	unsigned long n = 0;
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < count; i++) {
		if (n++ >= CHAIN_NAMES_SHOWN)
			continue;
		cert_name_shown(
		    X509_get_subject_name(chain[i]), CHAIN_NAME_CHARS, name, sizeof(name));
		if (len < size)
			len += (size_t)snprintf(
			    buf + len, size - len, "%s%s", n > 1 ? ", " : "", name);
	}
	if (n > CHAIN_NAMES_SHOWN && len < size)
		/* TRANSLATORS: after the names of the CA certificates that a dialog shows. */
		snprintf(buf + len, size - len,
		    P_(" and %lu more", " and %lu more", n - CHAIN_NAMES_SHOWN),
		    n - CHAIN_NAMES_SHOWN);
}

void
cert_install_words(
    X509 *leaf, bool leaf_present, bool add, X509 *const *chain, size_t n, char *buf, size_t size)
{
	char subject[DIALOG_FIELD_SIZE], issuer[DIALOG_FIELD_SIZE], names[512];
	size_t len;

	chain_names(chain, n, names, sizeof(names));
	cert_name_shown(X509_get_subject_name(leaf), DIALOG_FIELD_CHARS, subject, sizeof(subject));
	cert_name_shown(X509_get_issuer_name(leaf), DIALOG_FIELD_CHARS, issuer, sizeof(issuer));
	if (leaf_present) {
		snprintf(buf, size,
		    /* TRANSLATORS: the CA certificates' names, then the certificate's subject. */
		    P_("store the CA certificate %s for the certificate of %s",
			"store the CA certificates %s for the certificate of %s", (unsigned long)n),
		    names, subject);
		return;
	}
	if (add)
		snprintf(buf, size,
		    /* TRANSLATORS: the subject's and the issuer's names ("Joe Doe", "Demo CA"). */
		    _("add the certificate for %s issued by %s to a key that already has a "
		      "certificate"),
		    subject, issuer);
	else
		snprintf(buf, size,
		    /* TRANSLATORS: the subject's and the issuer's names ("Joe Doe", "Demo CA"). */
		    _("store the certificate for %s issued by %s"), subject, issuer);
	len = strlen(buf);
	if (n > 0)
		snprintf(buf + len, size - len,
		    /* TRANSLATORS: after "store the certificate for ..."; the CA certificates'
		       names. */
		    P_(", and the CA certificate %s", ", and the CA certificates %s",
			(unsigned long)n),
		    names);
}
