/*
 * module.h - the PKCS#11 modules this helper was told to load.
 *
 * The list is built once by main() before any worker starts and never
 * changes afterwards, so workers read it without a lock.  A module may be
 * re-initialised (module_reload) while the helper runs: every worker holds
 * the modules' read lock (module_use_begin/end) for the whole request, and
 * a reload waits until it is the only user.
 */
#ifndef CB_PKCS11_MODULE_H
#define CB_PKCS11_MODULE_H

#include <stddef.h>

#include <p11-kit/p11-kit.h>

/* A module as the command line names it: --module PATH, then its --atr patterns. */
struct module_spec {
	const char *path;
	const char **atrs; /* protocol/atr.h patterns; the cards this module claims */
	size_t natrs;	   /* 0: no list (it serves the cards no list claims) */
};

struct p11_module {
	const char *path;	 /* as given on the command line */
	const char *const *atrs; /* from its module_spec, for module by ATR (claim.c) */
	size_t natrs;
	char *real;		 /* realpath(path); NULL if that failed */
	CK_FUNCTION_LIST *funcs; /* NULL unless loaded and initialised */
	char *error;		 /* why it is not usable; NULL when ok */
	char description[33];	 /* CK_INFO.libraryDescription, trimmed */
	char manufacturer[33];	 /* CK_INFO.manufacturerID, trimmed */
};

/* Load and initialise each module; failures are recorded, never fatal. */
void module_load_all(const struct module_spec *specs, size_t n);

/* Finalise and release every loaded module. */
void module_unload_all(void);

/*
 * Worker threads: hold the modules' read lock while serving a request, so
 * that no session or object handle is in use while a module is reloaded.
 */
void module_use_begin(void);
void module_use_end(void);

/*
 * C_Finalize and C_Initialize m again, so that it reads its tokens afresh
 * (OpenSC 0.23 keeps broken objects after generating a key on an OpenPGP
 * card).  The caller holds the read lock (module_use_begin) and no token
 * lock or session; the read lock is dropped while other requests finish and
 * is held again on return.  Every slot, session and object handle of m is
 * invalid afterwards: find the token again.
 */
int module_reload(struct p11_module *m);

size_t module_count(void);
struct p11_module *module_at(size_t i);

#endif /* CB_PKCS11_MODULE_H */
