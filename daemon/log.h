/*
 * log.h - one-line log records on stderr, journald-friendly.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with the sd-daemon
 * priority prefix "<N>"; otherwise with the level name.  Message bodies,
 * PINs and params are never logged at info level or above.
 */
#ifndef CB_LOG_H
#define CB_LOG_H

enum log_level { LOG_LVL_ERROR = 3, LOG_LVL_WARN = 4, LOG_LVL_INFO = 6, LOG_LVL_DEBUG = 7 };

int log_level_parse(const char *name, enum log_level *out);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_init(const char *ident);

void cb_log(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) cb_log(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) cb_log(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) cb_log(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) cb_log(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* CB_LOG_H */
