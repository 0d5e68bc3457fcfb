/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tiny levelled log API (in the spirit of OpenBSD relayd's log.h).
 * Messages go to stderr with a level prefix. When stderr is systemd's
 * journal stream (JOURNAL_STREAM names it, checked in fg_log_init), each
 * line starts with the sd-daemon priority "<N>" instead of program[pid], so
 * journalctl -p works. Thread-safe: each message is one write(2).
 */
#ifndef FG_COMMON_LOG_H
#define FG_COMMON_LOG_H

enum fg_log_level { FG_LOG_ERR = 0, FG_LOG_WARN, FG_LOG_INFO, FG_LOG_DEBUG };

/* Set the most verbose level printed (default FG_LOG_INFO) and the program
 * name used as prefix. `prog` must outlive all logging (pass argv[0] or a
 * literal). */
void fg_log_init(const char *prog, enum fg_log_level level);
void fg_log_set_level(enum fg_log_level level);

void fg_log(enum fg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   fg_log(FG_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  fg_log(FG_LOG_WARN, __VA_ARGS__)
#define log_info(...)  fg_log(FG_LOG_INFO, __VA_ARGS__)
#define log_debug(...) fg_log(FG_LOG_DEBUG, __VA_ARGS__)

#endif
