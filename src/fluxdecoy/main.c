/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxdecoy: the decoy bed daemon (fluxdecoy(8)). Loads and checks the
 * config and its persona files, binds, drops privileges, serves.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "decoy/dconf.h"
#include "fluxdecoy/clone.h"
#include "fluxdecoy/contain.h"
#include "fluxdecoy/dpriv.h"
#include "fluxdecoy/control.h"
#include "fluxdecoy/event.h"
#include "fluxdecoy/privdrop.h"
#include "fluxdecoy/server.h"
#include "fluxdecoy/universe.h"

#include <openssl/crypto.h>
#include <sys/resource.h>

#define DEFAULT_CONF "/etc/fluxdecoy/fluxdecoy.conf"
#define DEFAULT_CONTROL "/run/fluxdecoy/control.sock"

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t shuffle_flag;

static void on_shuffle(int sig)
{
	(void)sig;
	shuffle_flag = 1;
}

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	if (line > 0)
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fluxdecoy [-c FILE] [--check] [-d]\n"
		   "       fluxdecoy clone --from ADDR --ports tcp/80,tcp/443,... [-o FILE]\n"
		   "       fluxdecoy ctl [-s SOCKET] COMMAND [ARGS...]\n"
		   "  -c, --config FILE  config (default " DEFAULT_CONF ")\n"
		   "      --check        check the config and its personas, then exit\n"
		   "  -d, --debug        log at debug level\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = DEFAULT_CONF;
	int check = 0, c, rc;
	fd_conf_t *conf = NULL;
	fd_event_t *ev = NULL;
	fd_server_t *srv = NULL;
	fd_ctl_t *ctl = NULL;
	char err[512];
	pid_t priv_pid = -1;
	int priv_fd = -1;
	uint8_t *key = NULL;
	size_t keylen = 0;

	if (argc > 1 && strcmp(argv[1], "clone") == 0)
		return fd_clone_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return fd_ctl_main(argc - 1, argv + 1, DEFAULT_CONTROL);
	fg_log_init("fluxdecoy", FG_LOG_INFO);
	while ((c = getopt_long(argc, argv, "c:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'C': check = 1; break;
		case 'd': fg_log_set_level(FG_LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	rc = fd_conf_load(path, &conf, diag, NULL);
	if (rc < 0)
		return 1;
	/* the shuffle's root key: checked by --check too */
	rc = fd_bed_key_load(conf->shuffle.key, &key, &keylen, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		fd_conf_free(conf);
		return 1;
	}
	if (check) {
		OPENSSL_cleanse(key, keylen);
		free(key);
		printf("%s: ok (%zu personas)\n", path, conf->npersonas);
		fd_conf_free(conf);
		return 0;
	}
	if (geteuid() == 0 && !conf->decoy.user) {
		log_err("%s: decoy.user is required when started as root: the decoy "
			"faces attackers and must not keep root", path);
		OPENSSL_cleanse(key, keylen);
		free(key);
		fd_conf_free(conf);
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	struct sigaction su = { .sa_handler = on_shuffle };
	sigemptyset(&su.sa_mask);
	sigaction(SIGUSR1, &su, NULL);
	/* a shuffled /24 on four ports is 1024 sockets */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	rc = fd_event_open(conf->decoy.event_log, &ev);
	if (rc < 0) {
		log_err("event-log %s: %s", conf->decoy.event_log, fg_strerror(rc));
		goto out;
	}
	/* containment before anything answers: the backends are held from
	 * the first packet on, and stay held if we die */
	if (fd_contain_needed(conf) || fd_contain_udp_needed(conf)) {
		rc = fd_contain_install(conf, err, sizeof(err));
		if (rc < 0) {
			log_err("%s", err);
			goto out;
		}
		log_info("containment: table inet %s installed", fd_conf_nft_table(conf));
	}
	if (fd_contain_needed(conf) || fd_contain_udp_shuffled(conf)) {
		rc = fd_priv_start(conf, ev, key, keylen, &priv_pid);
		if (rc < 0) {
			log_err("cannot start the privileged part: %s", fg_strerror(rc));
			goto out;
		}
		priv_fd = rc;
	}
	rc = fd_server_new(conf, ev, &srv, err, sizeof(err));
	if (rc < 0) {
		log_err("%s", err);
		goto out;
	}
	fd_server_set_priv(srv, priv_fd);
	priv_fd = -1;
	/* the control socket is made by root, 0600, before the drop */
	if (conf->decoy.control) {
		rc = fd_ctl_open(conf->decoy.control, &ctl, err, sizeof(err));
		if (rc == 0)
			rc = fd_server_set_control(srv, ctl);
		if (rc < 0) {
			log_err("%s", err);
			goto out;
		}
	}
	rc = fd_server_shuffle(srv, key, keylen, &shuffle_flag, err, sizeof(err));
	OPENSSL_cleanse(key, keylen);
	free(key);
	key = NULL;
	if (rc < 0) {
		log_err("%s", err);
		goto out;
	}
	rc = fd_privdrop(conf->decoy.user);
	if (rc < 0)
		goto out;
	log_info("serving %zu personas%s%s", conf->npersonas,
		 conf->decoy.user ? " as " : "", conf->decoy.user ? conf->decoy.user : "");
	rc = fd_server_run(srv, &stop_flag);
	if (rc < 0)
		log_err("event loop: %s", fg_strerror(rc));
	else
		log_info("stopping");
out:
	fd_server_free(srv);   /* closes the socket to [priv]: it exits */
	if (priv_fd >= 0)
		close(priv_fd);
	if (priv_pid > 0)
		fd_priv_wait(priv_pid);
	fd_ctl_close(ctl);
	if (key) {
		OPENSSL_cleanse(key, keylen);
		free(key);
	}
	fd_event_close(ev);
	fd_conf_free(conf);
	return rc < 0 ? 1 : 0;
}
