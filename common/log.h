/*
 * log — one line per event, logfmt: ts, level, role, pid, event, then the
 * caller's key=value pairs.
 *
 * Event names are stable identifiers (snake_case) so operators can grep and
 * alert on them. Never pass secrets (tokens, cluster/push secrets) to these
 * functions: there is no redaction layer, the rule is "don't".
 */
#ifndef GATECAST_COMMON_LOG_H
#define GATECAST_COMMON_LOG_H

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

/* role is borrowed for the life of the process (a string literal). path NULL
 * or "" means stderr. Returns 0 or -errno when the file cannot be opened (the
 * log then stays on stderr). */
int log_init(const char *role, enum log_level min, const char *path);
/* Reopens the log file (after logrotate moved it). 0 or -errno. */
int log_reopen(void);
/* "debug", "info", "warn", "error" → level; -1 when unknown. */
int log_level_parse(const char *s);

/* fmt holds the extra fields, e.g. "addr=%s clients=%d", or NULL. A value
 * that may contain spaces or quotes should be passed through %s of a string
 * made by log_quote. */
__attribute__((format(printf, 3, 4))) void log_event(enum log_level level, const char *event,
	const char *fmt, ...);

/* Quotes s as a logfmt value into out (size n): always returns out. */
const char *log_quote(const char *s, char *out, unsigned n);

#define log_debug(ev, ...) log_event(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...) log_event(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(LOG_ERROR, ev, __VA_ARGS__)

#endif
