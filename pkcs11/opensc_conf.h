/*
 * opensc_conf.h - the OpenSC configuration the helper runs OpenSC's module
 * with: the one in effect plus the PIN unblock style cardbridge needs
 * (opensc_conf.c says why).
 */
#ifndef CB_PKCS11_OPENSC_CONF_H
#define CB_PKCS11_OPENSC_CONF_H

#include <stdbool.h>

/*
 * Main thread, before any module is loaded: write the configuration to a
 * memfd and point OPENSC_CONF at it.  Never fatal: when it cannot, OpenSC
 * runs with the configuration as it was and opensc_conf_unblock() says why
 * no PIN can be unblocked through it.
 */
void opensc_conf_setup(void);

/*
 * Does OpenSC's module unblock a user PIN with C_Login(CKU_SO) +
 * C_InitPIN (user_pin_unblock_style = init_pin_in_so_session)?  When not,
 * *why says why, in English.  Any thread, after opensc_conf_setup().
 */
bool opensc_conf_unblock(const char **why);

#endif /* CB_PKCS11_OPENSC_CONF_H */
