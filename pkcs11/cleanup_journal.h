/*
 * cleanup_journal.h - the file that remembers unfinished clean-ups across
 * helper restarts (cleanup_journal.c); cleanup.c is its only user.
 */
#ifndef CB_PKCS11_CLEANUP_JOURNAL_H
#define CB_PKCS11_CLEANUP_JOURNAL_H

struct json_object;

/* Held from journal_load() to journal_save(): one reader-writer at a time. */
void journal_lock(void);
void journal_unlock(void);

/* The entries (a JSON array, owned by the caller), empty when there are none. */
struct json_object *journal_load(void);

/* Replace the file with these entries (removed when there are none). */
int journal_save(struct json_object *list);

#endif /* CB_PKCS11_CLEANUP_JOURNAL_H */
