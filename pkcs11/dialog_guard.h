/*
 * dialog_guard.h - the pinentry's process between fork and exec, and the
 * guard that ends a dialog whose helper died (dialog_guard.c).
 */
#ifndef CB_PKCS11_DIALOG_GUARD_H
#define CB_PKCS11_DIALOG_GUARD_H

#include <sys/types.h>

/* What the pinentry's process needs to know between fork and exec. */
struct dialog_fork {
	pid_t helper;
	int guard[2]; /* pipe: the helper holds [1] while the dialog is open; -1 for none */
};

/*
 * libassuan's atfork callback (arg: a struct dialog_fork): runs in the
 * pinentry's process before exec, async-signal-safe calls only.
 */
void dialog_atfork(void *arg, int reserved);

#endif /* CB_PKCS11_DIALOG_GUARD_H */
