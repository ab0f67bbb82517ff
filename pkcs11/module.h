/*
 * module.h - the PKCS#11 modules this helper was told to load.
 *
 * The list is built once by main() before any worker starts and never
 * changes afterwards, so workers read it without a lock.
 */
#ifndef CB_PKCS11_MODULE_H
#define CB_PKCS11_MODULE_H

#include <stddef.h>

#include <p11-kit/p11-kit.h>

struct p11_module {
	const char *path;	 /* as given on the command line */
	char *real;		 /* realpath(path); NULL if that failed */
	CK_FUNCTION_LIST *funcs; /* NULL unless loaded and initialised */
	char *error;		 /* why it is not usable; NULL when ok */
	char description[33];	 /* CK_INFO.libraryDescription, trimmed */
	char manufacturer[33];	 /* CK_INFO.manufacturerID, trimmed */
};

/* Load and initialise each path; failures are recorded, never fatal. */
void module_load_all(const char *const *paths, size_t n);

/* Finalise and release every loaded module. */
void module_unload_all(void);

size_t module_count(void);
struct p11_module *module_at(size_t i);

#endif /* CB_PKCS11_MODULE_H */
