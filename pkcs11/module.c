/*
 * module.c - load the configured PKCS#11 modules through p11-kit and answer
 * `hello` with what became of each.
 *
 * Only paths from our command line are loaded (the daemon takes them from
 * its configuration), and only once they resolve to a regular file.  A
 * module that fails to load or initialise is reported, not fatal: the
 * other modules still serve their tokens.
 * Must never: load a path that came from a request.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "protocol/cberr.h"
#include "pkcs11/field.h"
#include "pkcs11/helper.h"
#include "pkcs11/log.h"
#include "pkcs11/module.h"
#include "pkcs11/request.h"

static struct p11_module *modules;
static size_t nmodules;

/*
 * Readers: every request while it is served.  Writer: module_reload().
 * Writers are preferred, so that a reload is not starved by a stream of
 * tokens.list refreshes; no thread ever takes the read lock twice.
 */
static pthread_rwlock_t use_lock;
static pthread_once_t use_lock_once = PTHREAD_ONCE_INIT;

static void
use_lock_init(void)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&use_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

void
module_use_begin(void)
{
	pthread_once(&use_lock_once, use_lock_init);
	pthread_rwlock_rdlock(&use_lock);
}

void
module_use_end(void)
{
	pthread_rwlock_unlock(&use_lock);
}

size_t
module_count(void)
{
	return nmodules;
}

struct p11_module *
module_at(size_t i)
{
	return i < nmodules ? &modules[i] : NULL;
}

static void
module_set_error(struct p11_module *m, const char *what, const char *why)
{
	size_t len = strlen(what) + strlen(why) + 3;

	free(m->error);
	if ((m->error = malloc(len)) != NULL)
		snprintf(m->error, len, "%s: %s", what, why);
	helper_log(CB_LOG_WARN, "module %s: %s: %s", m->path, what, why);
}

/* realpath() the path and refuse anything but a regular file. */
static int
module_resolve(struct p11_module *m)
{
	struct stat st;
	size_t i;

	if ((m->real = realpath(m->path, NULL)) == NULL) {
		module_set_error(m, "cannot resolve the path", strerror(errno));
		return CB_ERR_CONFIG;
	}
	if (stat(m->real, &st) != 0 || !S_ISREG(st.st_mode)) {
		module_set_error(m, "refused", "not a regular file");
		return CB_ERR_CONFIG;
	}
	for (i = 0; &modules[i] != m; i++)
		if (modules[i].funcs != NULL && strcmp(modules[i].real, m->real) == 0) {
			module_set_error(m, "refused", "already loaded");
			return CB_ERR_CONFIG;
		}
	return 0;
}

static int
module_load(struct p11_module *m)
{
	CK_FUNCTION_LIST *funcs;
	CK_INFO info;
	CK_RV rv;

	if (module_resolve(m) != 0)
		return CB_ERR_CONFIG;
	/* Managed (flags 0): p11-kit initialises it with CKF_OS_LOCKING_OK. */
	if ((funcs = p11_kit_module_load(m->real, 0)) == NULL) {
		module_set_error(m, "cannot load",
		    p11_kit_message() ? p11_kit_message() : "not a PKCS#11 module");
		return CB_ERR_CONFIG;
	}
	if ((rv = p11_kit_module_initialize(funcs)) != CKR_OK) {
		module_set_error(m, "C_Initialize failed", p11_kit_strerror(rv));
		p11_kit_module_release(funcs);
		return CB_ERR_MODULE_ERROR;
	}
	/* Without CK_INFO, hello reports an empty description; the module still serves. */
	if ((rv = funcs->C_GetInfo(&info)) == CKR_OK) {
		field_trim_copy(m->description, sizeof(m->description), info.libraryDescription,
		    sizeof(info.libraryDescription));
		field_trim_copy(m->manufacturer, sizeof(m->manufacturer), info.manufacturerID,
		    sizeof(info.manufacturerID));
	} else
		helper_log(CB_LOG_WARN, "module %s: C_GetInfo: %s", m->path, p11_kit_strerror(rv));
	m->funcs = funcs;
	helper_log(CB_LOG_INFO, "module %s loaded (%s)", m->real, m->description);
	return 0;
}

void
module_load_all(const struct module_spec *specs, size_t n)
{
	size_t i;

	if ((modules = calloc(n, sizeof(*modules))) == NULL) {
		helper_log(CB_LOG_ERROR, "out of memory");
		return;
	}
	nmodules = n;
	for (i = 0; i < n; i++) {
		modules[i].path = specs[i].path;
		modules[i].atrs = (const char *const *)specs[i].atrs;
		modules[i].natrs = specs[i].natrs;
		/* A failure is recorded in m->error for hello, and logged: not fatal. */
		(void)module_load(&modules[i]);
	}
}

int
module_reload(struct p11_module *m)
{
	CK_RV rv;
	int r = 0;

	if (m->funcs == NULL)
		return CB_ERR_MODULE_ERROR;
	pthread_rwlock_unlock(&use_lock);
	pthread_rwlock_wrlock(&use_lock);
	helper_log(CB_LOG_INFO, "module %s: reloading to read the tokens afresh", m->path);
	p11_kit_module_finalize(m->funcs);
	/*
	 * On failure m->funcs stays (hello reads it on the main thread without
	 * a lock): its calls then answer CKR_CRYPTOKI_NOT_INITIALIZED, which
	 * every caller already handles, and the log says why.
	 */
	if ((rv = p11_kit_module_initialize(m->funcs)) != CKR_OK) {
		helper_log(CB_LOG_ERROR, "module %s: C_Initialize failed after a reload: %s",
		    m->path, p11_kit_strerror(rv));
		r = CB_ERR_MODULE_ERROR;
	}
	pthread_rwlock_unlock(&use_lock);
	pthread_rwlock_rdlock(&use_lock);
	return r;
}

void
module_unload_all(void)
{
	size_t i;

	for (i = 0; i < nmodules; i++) {
		if (modules[i].funcs != NULL) {
			p11_kit_module_finalize(modules[i].funcs);
			p11_kit_module_release(modules[i].funcs);
		}
		free(modules[i].real);
		free(modules[i].error);
	}
	free(modules);
	modules = NULL;
	nmodules = 0;
}

static struct json_object *
module_json(const struct p11_module *m)
{
	struct json_object *obj;
	bool ok = m->funcs != NULL;

	if ((obj = json_object_new_object()) == NULL)
		return NULL;
	if (field_add_string(obj, "path", m->path) != 0 ||
	    json_object_object_add(obj, "ok", json_object_new_boolean(ok)) != 0 ||
	    field_add_string(obj, "error", ok ? NULL : (m->error ? m->error : "failed")) != 0 ||
	    field_add_string(obj, "description", ok ? m->description : NULL) != 0 ||
	    field_add_string(obj, "manufacturer", ok ? m->manufacturer : NULL) != 0) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Runs on the main thread: reads only what module_load_all() left behind. */
int
handle_hello(struct request *req, struct json_object **result)
{
	struct json_object *obj = NULL, *list, *entry;
	size_t i;
	int r = CB_ERR_ALLOC;

	(void)req;
	if ((obj = json_object_new_object()) == NULL || (list = json_object_new_array()) == NULL)
		goto out;
	json_object_object_add(obj, "modules", list);
	for (i = 0; i < nmodules; i++) {
		if ((entry = module_json(&modules[i])) == NULL)
			goto out;
		json_object_array_add(list, entry);
	}
	*result = obj;
	obj = NULL;
	r = 0;
out:
	json_object_put(obj);
	return r;
}
