/*
 * claim.c - module by ATR for the helper's token lists (claim.h): which
 * tokens may be used, why the others may not, and which cards wait for a
 * module that does not serve them.
 *
 * The rule itself is protocol/claim.c; this file only brings it the loaded
 * modules' ATR lists (from the command line, module.h) and the cards in the
 * readers (PC/SC, pcsc.h).  With one module and no list, nothing is read.
 * Must never: let a token through whose card another module claims, also
 * when that module failed to load.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol/cberr.h"
#include "protocol/claim.h"
#include "pkcs11/claim.h"
#include "pkcs11/field.h"
#include "pkcs11/module.h"
#include "pkcs11/token.h"

#define CLAIM_MODULES_MAX 32

void
claim_begin(struct claim *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->active = module_count() > 1 && module_count() <= CLAIM_MODULES_MAX;
	for (i = 0; i < module_count() && module_count() <= CLAIM_MODULES_MAX; i++)
		c->active = c->active || module_at(i)->natrs > 0;
	if (c->active)
		pcsc_view_read(&c->pcsc);
}

static size_t
module_index(const struct p11_module *m)
{
	size_t i;

	for (i = 0; i < module_count(); i++)
		if (module_at(i) == m)
			return i;
	return SIZE_MAX;
}

static void
claim_modules(struct claim_module *mods)
{
	size_t i;

	for (i = 0; i < module_count(); i++)
		mods[i] = (struct claim_module){module_at(i)->atrs, module_at(i)->natrs};
}

/* The reader of list[i] when it holds a card the rule is about, else NULL. */
static const struct pcsc_reader *
card_reader(const struct claim *c, const struct token *t)
{
	const struct pcsc_reader *r;

	if (!c->active || (r = pcsc_view_find(&c->pcsc, t->reader)) == NULL || r->atr[0] == '\0')
		return NULL;
	return r;
}

/* shows[j]: module j shows a token in reader r. */
static void
modules_showing(const struct claim *c, const struct token *list, size_t n,
    const struct pcsc_reader *r, bool *shows)
{
	size_t k, j;

	memset(shows, 0, CLAIM_MODULES_MAX * sizeof(*shows));
	for (k = 0; k < n; k++)
		if (card_reader(c, &list[k]) == r &&
		    (j = module_index(list[k].module)) < CLAIM_MODULES_MAX)
			shows[j] = true;
}

const char *
claim_refusal(
    const struct claim *c, const struct token *list, size_t n, size_t i, char *why, size_t size)
{
	struct claim_module mods[CLAIM_MODULES_MAX];
	bool shows[CLAIM_MODULES_MAX];
	const struct pcsc_reader *r;
	const struct p11_module *other;
	size_t mi = module_index(list[i].module), j;
	int claimant;

	if ((r = card_reader(c, &list[i])) == NULL || mi >= CLAIM_MODULES_MAX)
		return NULL;
	claim_modules(mods);
	modules_showing(c, list, n, r, shows);
	if (claim_serves(mods, module_count(), mi, r->atr, shows))
		return NULL;
	if ((claimant = claim_claimant(mods, module_count(), r->atr)) >= 0) {
		other = module_at((size_t)claimant);
		if (other->funcs == NULL)
			snprintf(why, size,
			    "the card in %s is for the module %s, which could not be loaded: %s",
			    r->name, other->path, other->error ? other->error : "failed");
		else
			snprintf(why, size, "the card in %s is served by the module %s", r->name,
			    other->path);
		return why;
	}
	if (mods[mi].natrs > 0) {
		snprintf(why, size, "the atr list of the module %s does not name the card in %s",
		    list[i].module->path, r->name);
		return why;
	}
	for (j = 0; j < module_count() && !(mods[j].natrs == 0 && shows[j]); j++)
		;
	snprintf(why, size, "the card in %s is served by the module %s", r->name,
	    j < module_count() ? module_at(j)->path : "?");
	return why;
}

static int
waiting_entry(struct json_object *array, const struct pcsc_reader *r, const struct p11_module *m)
{
	struct json_object *e;
	const char *error = m->funcs == NULL ? (m->error ? m->error : "failed")
					     : "the module shows no token for this card";

	if ((e = json_object_new_object()) == NULL)
		return CB_ERR_ALLOC;
	if (field_add_string(e, "reader", r->name) != 0 ||
	    field_add_string(e, "atr", r->atr) != 0 ||
	    field_add_string(e, "module", m->path) != 0 ||
	    field_add_string(e, "error", error) != 0 || json_object_array_add(array, e) != 0) {
		json_object_put(e);
		return CB_ERR_ALLOC;
	}
	return 0;
}

int
claim_waiting_json(
    const struct claim *c, const struct token *served, size_t n, struct json_object *array)
{
	struct claim_module mods[CLAIM_MODULES_MAX];
	const struct pcsc_reader *r;
	const struct p11_module *m;
	size_t i, k;
	int claimant, ret;

	if (!c->active)
		return 0;
	claim_modules(mods);
	for (i = 0; i < c->pcsc.n; i++) {
		r = &c->pcsc.readers[i];
		if ((claimant = claim_claimant(mods, module_count(), r->atr)) < 0)
			continue;
		m = module_at((size_t)claimant);
		for (k = 0; k < n; k++)
			if (served[k].module == m && card_reader(c, &served[k]) == r)
				break;
		if (k == n && (ret = waiting_entry(array, r, m)) != 0)
			return ret;
	}
	return 0;
}
