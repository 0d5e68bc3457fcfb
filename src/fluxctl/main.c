/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxctl: control tool for fluxgated, a subcommand table over the UNIX
 * control socket (protocol: ctl/proto.h, doc/control-protocol.md).
 *
 * Exit codes: 0 done; 1 the daemon refused the request; 2 bad usage;
 * 3 the daemon cannot be reached (not running, no permission).
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "ctl/proto.h"
#include "fluxctl/dnssec.h"

#define DEFAULT_SOCKET "/run/fluxgate/control.sock"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

struct opts {
	const char *socket;
	bool json;
};

typedef int (*cmd_fn)(const struct opts *o, int argc, char **argv);

struct subcommand {
	const char *name;
	cmd_fn fn;
	const char *args;
	const char *help;
};

static int request(const struct opts *o, unsigned cmd, const char *const *args,
		   unsigned nargs, json_t **out)
{
	uint8_t req[FG_CTL_HDRLEN + FG_CTL_REQ_MAX];
	int len = fg_ctl_encode_request(req, sizeof(req), cmd, args, nargs);
	if (len < 0) {
		fprintf(stderr, "fluxctl: request too large\n");
		return EXIT_USAGE;
	}
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(o->socket) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "fluxctl: socket path too long: %s\n", o->socket);
		return EXIT_USAGE;
	}
	strcpy(sun.sun_path, o->socket);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		fprintf(stderr, "fluxctl: cannot reach fluxgated at %s: %s%s\n", o->socket,
			strerror(e), e == ENOENT || e == ECONNREFUSED ? " (is the daemon running?)" : "");
		if (fd >= 0)
			close(fd);
		return EXIT_UNREACHABLE;
	}
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		fprintf(stderr, "fluxctl: sending the request failed: %s\n", strerror(errno));
		close(fd);
		return EXIT_UNREACHABLE;
	}
	uint8_t hdr[FG_CTL_HDRLEN];
	size_t got = 0;
	while (got < sizeof(hdr)) {
		ssize_t k = recv(fd, hdr + got, sizeof(hdr) - got, 0);
		if (k <= 0) {
			fprintf(stderr, "fluxctl: the daemon closed the connection without an answer\n");
			close(fd);
			return EXIT_UNREACHABLE;
		}
		got += (size_t)k;
	}
	fg_ctl_hdr_t h;
	int rc = fg_ctl_parse_hdr(hdr, sizeof(hdr), FG_CTL_RESPONSE, &h);
	if (rc < 0) {
		fprintf(stderr, "fluxctl: bad response from the daemon: %s\n", fg_strerror(rc));
		close(fd);
		return EXIT_UNREACHABLE;
	}
	char *body = malloc(h.length + 1);
	if (!body) {
		close(fd);
		return EXIT_UNREACHABLE;
	}
	got = 0;
	while (got < h.length) {
		ssize_t k = recv(fd, body + got, h.length - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	body[got] = '\0';
	json_error_t jerr;
	json_t *j = got == h.length ? json_loads(body, 0, &jerr) : NULL;
	free(body);
	if (!j) {
		fprintf(stderr, "fluxctl: unreadable response from the daemon\n");
		return EXIT_UNREACHABLE;
	}
	if (h.code != 0) {
		const char *msg = json_string_value(json_object_get(j, "error"));
		if (o->json) {
			char *t = json_dumps(j, JSON_INDENT(2));
			puts(t ? t : "{}");
			free(t);
		}
		fprintf(stderr, "fluxctl: %s\n", msg ? msg : "request refused");
		json_decref(j);
		return EXIT_REFUSED;
	}
	*out = j;
	return EXIT_OK;
}

static void print_json(const json_t *j)
{
	char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(t ? t : "{}");
	free(t);
}

/* Generic human form: key: value lines, nested objects indented. */
static void print_tree(const json_t *j, int indent)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)j, k, v) {
		if (json_is_object(v)) {
			printf("%*s%s:\n", indent, "", k);
			print_tree(v, indent + 2);
		} else if (json_is_array(v)) {
			printf("%*s%s:", indent, "", k);
			size_t i;
			json_t *e;
			bool scalar = true;
			json_array_foreach(v, i, e)
				if (json_is_object(e) || json_is_array(e))
					scalar = false;
			if (scalar) {
				json_array_foreach(v, i, e) {
					char *t = json_dumps(e, JSON_ENCODE_ANY);
					printf(" %s", t ? t : "");
					free(t);
				}
				printf("\n");
			} else {
				printf("\n");
				json_array_foreach(v, i, e) {
					printf("%*s-\n", indent + 2, "");
					print_tree(e, indent + 4);
				}
			}
		} else {
			char *t = json_dumps(v, JSON_ENCODE_ANY);
			printf("%*s%s: %s\n", indent, "", k, t ? t : "");
			free(t);
		}
	}
}

static int simple(const struct opts *o, unsigned cmd, const char *const *args, unsigned n)
{
	json_t *j = NULL;
	int rc = request(o, cmd, args, n, &j);
	if (rc)
		return rc;
	if (o->json)
		print_json(j);
	else
		print_tree(j, 0);
	json_decref(j);
	return EXIT_OK;
}

static int cmd_status(const struct opts *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return -1;
	return simple(o, FG_CTL_STATUS, NULL, 0);
}

static int cmd_stats(const struct opts *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return -1;
	return simple(o, FG_CTL_STATS, NULL, 0);
}

static int cmd_reload(const struct opts *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		return -1;
	return simple(o, FG_CTL_RELOAD, NULL, 0);
}

static int cmd_grants(const struct opts *o, int argc, char **argv)
{
	/* each option at most once: --service, --client, --limit, --after
	 * (two arguments each) and --count */
	const char *args[10];
	unsigned n = 0;
	bool count = false;
	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "--service") || !strcmp(argv[i], "--client") ||
		     !strcmp(argv[i], "--limit") || !strcmp(argv[i], "--after")) && i + 1 < argc) {
			if (n + 2 > 8)
				return -1;
			args[n++] = argv[i] + 2;
			args[n++] = argv[++i];
		} else if (!strcmp(argv[i], "--count") && !count) {
			count = true;
		} else {
			return -1;
		}
	}
	if (count) {
		args[n++] = "count";
		args[n++] = "1";
	}
	json_t *j = NULL;
	int rc = request(o, FG_CTL_GRANTS, args, n, &j);
	if (rc)
		return rc;
	if (o->json) {
		print_json(j);
	} else if (count) {
		json_t *c = json_object_get(j, "count");
		static const char *const k[] = { "client", "net", "any", "total" };
		for (size_t i = 0; i < 4; i++)
			printf("%-7s %" JSON_INTEGER_FORMAT "\n", k[i],
			       json_integer_value(json_object_get(c, k[i])));
	} else {
		json_t *arr = json_object_get(j, "grants");
		size_t i;
		json_t *g;
		printf("%-7s %-44s %-40s %-40s %s\n", "SCOPE", "CLIENT", "ADDRESS", "BACKEND", "EXPIRES");
		json_array_foreach(arr, i, g)
			printf("%-7s %-44s %-40s %-40s %.1fs\n",
			       json_string_value(json_object_get(g, "scope")),
			       json_string_value(json_object_get(g, "client")),
			       json_string_value(json_object_get(g, "address")),
			       json_string_value(json_object_get(g, "backend")),
			       (double)json_integer_value(json_object_get(g, "expires_ms")) / 1000.0);
		printf("%zu grant%s\n", json_array_size(arr), json_array_size(arr) == 1 ? "" : "s");
		const char *next = json_string_value(json_object_get(j, "next"));
		if (next)
			printf("next: --after %s\n", next);
	}
	json_decref(j);
	return EXIT_OK;
}

static int cmd_quarantine(const struct opts *o, int argc, char **argv)
{
	if (argc == 1)
		return simple(o, FG_CTL_QUARANTINE, (const char *const *)argv, 1);
	if (argc == 3 && !strcmp(argv[1], "--for")) {
		const char *args[2] = { argv[0], argv[2] };
		return simple(o, FG_CTL_QUARANTINE, args, 2);
	}
	return -1;
}

static int cmd_release(const struct opts *o, int argc, char **argv)
{
	if (argc != 1)
		return -1;
	return simple(o, FG_CTL_RELEASE, (const char *const *)argv, 1);
}

static int cmd_rotate(const struct opts *o, int argc, char **argv)
{
	if (argc != 1)
		return -1;
	return simple(o, FG_CTL_ROTATE, (const char *const *)argv, 1);
}

static int cmd_dnssec(const struct opts *o, int argc, char **argv)
{
	(void)o;
	return fg_fluxctl_dnssec(argc, argv);
}

static const struct subcommand subcommands[] = {
	{ "status", cmd_status, "", "daemon state: version, uptime, zones, services, pools" },
	{ "stats", cmd_stats, "", "counters: queries, answers by rcode, grants by scope" },
	{ "grants", cmd_grants, "[--service S] [--client ADDR] [--limit N] [--after CURSOR] [--count]",
	  "live grants in the kernel, a page at a time" },
	{ "quarantine", cmd_quarantine, "ADDR [--for TIME]", "send a source to the decoys, cut its flows" },
	{ "release", cmd_release, "ADDR", "end a quarantine" },
	{ "rotate", cmd_rotate, "SERVICE", "forget per-resolver addresses: fresh ones next" },
	{ "reload", cmd_reload, "", "reload the configuration (like SIGHUP)" },
	{ "dnssec", cmd_dnssec, "keygen|ds ZONE [--dir DIR] [--algorithm A] [--ksk|--zsk] [--activate-in T]",
	  "make BIND-format keys / print DS records (local)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fluxctl [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
		   "  -s, --socket PATH  control socket (default " DEFAULT_SOCKET ")\n"
		   "  -j, --json         print the daemon's JSON answer\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-10s %-30s %s\n", subcommands[i].name, subcommands[i].args,
			subcommands[i].help);
}

int main(int argc, char **argv)
{
	struct opts o = { .socket = DEFAULT_SOCKET };
	int i = 1;
	const char *env = getenv("FLUXCTL_SOCKET");
	if (env && *env)
		o.socket = env;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--socket")) && i + 1 < argc) {
			o.socket = argv[++i];
		} else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			o.json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			fprintf(stderr, "fluxctl: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[i++];
	/* --json may also follow the command, as with `wg show --json` */
	int nargs = 0;
	char *rest[64];
	for (; i < argc && nargs < 64; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			o.json = true;
		else
			rest[nargs++] = argv[i];
	}
	for (size_t k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]); k++) {
		if (strcmp(subcommands[k].name, name))
			continue;
		int rc = subcommands[k].fn(&o, nargs, rest);
		if (rc < 0) {
			fprintf(stderr, "usage: fluxctl %s %s\n", subcommands[k].name, subcommands[k].args);
			return EXIT_USAGE;
		}
		return rc;
	}
	fprintf(stderr, "fluxctl: unknown command '%s'\n", name);
	usage(stderr);
	return EXIT_USAGE;
}
