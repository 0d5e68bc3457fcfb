/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: Prometheus metrics (daemon/metrics.h): the histogram, the
 * pure renderer (checked line by line and, when installed, by `promtool
 * check metrics`), and the HTTP endpoint over a real loopback socket. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/metrics.h"

/* ---- histogram ------------------------------------------------------------- */

static void test_hist_buckets(void **state)
{
	(void)state;
	fg_hist_t h = { 0 };
	fg_hist_observe_ns(&h, 30000);        /* 30 us -> le 5e-05 */
	fg_hist_observe_ns(&h, 50000);        /* on the bound: le is inclusive */
	fg_hist_observe_ns(&h, 50001);        /* -> le 0.0001 */
	fg_hist_observe(&h, 0.003);           /* -> le 0.005 */
	fg_hist_observe(&h, 2.0);             /* -> +Inf */
	fg_hist_observe(&h, -1.0);            /* clamped to 0 -> first bucket */

	fg_hist_snap_t s = { 0 };
	fg_hist_snapshot_add(&s, &h);
	assert_int_equal(s.cumulative[0], 3);
	assert_int_equal(s.cumulative[1], 4);
	assert_int_equal(s.cumulative[5], 4);      /* le 0.0025 */
	assert_int_equal(s.cumulative[6], 5);      /* le 0.005 */
	assert_int_equal(s.cumulative[FG_HIST_NBOUNDS - 1], 5);
	assert_int_equal(s.cumulative[FG_HIST_NBOUNDS], 6);
	assert_int_equal(s.sum_ns, 30000 + 50000 + 50001 + 3000000 + 2000000000ull);

	/* merging workers adds up */
	fg_hist_snapshot_add(&s, &h);
	assert_int_equal(s.cumulative[FG_HIST_NBOUNDS], 12);

	/* bounds ascend */
	for (int i = 1; i < FG_HIST_NBOUNDS; i++)
		assert_true(fg_hist_bounds[i] > fg_hist_bounds[i - 1]);
}

struct obs_arg {
	fg_hist_t *h;
	int n;
};

static void *observer(void *arg)
{
	struct obs_arg *a = arg;
	for (int i = 0; i < a->n; i++)
		fg_hist_observe_ns(a->h, (uint64_t)(i % 2000) * 1000);
	return NULL;
}

static void test_hist_concurrent(void **state)
{
	(void)state;
	fg_hist_t h = { 0 };
	pthread_t th[4];
	struct obs_arg a = { &h, 50000 };
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, observer, &a);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	fg_hist_snap_t s = { 0 };
	fg_hist_snapshot_add(&s, &h);
	assert_int_equal(s.cumulative[FG_HIST_NBOUNDS], 200000);
}

static void test_qtype_index(void **state)
{
	(void)state;
	assert_int_equal(fg_metrics_qtype_index(1), FG_MQ_A);
	assert_int_equal(fg_metrics_qtype_index(28), FG_MQ_AAAA);
	assert_int_equal(fg_metrics_qtype_index(65), FG_MQ_HTTPS);
	assert_int_equal(fg_metrics_qtype_index(255), FG_MQ_ANY);
	assert_int_equal(fg_metrics_qtype_index(99), FG_MQ_OTHER);
	assert_int_equal(fg_metrics_qtype_index(0), FG_MQ_OTHER);
}

/* ---- renderer -------------------------------------------------------------- */

static void fill(fg_metrics_t *m)
{
	memset(m, 0, sizeof(*m));
	m->build.version = "0.1.0";
	m->build.commit = "abc123";
	m->start_time = 1795317855.25;
	m->queries_udp = 42;
	m->queries_tcp = 3;
	m->queries_by_qtype[FG_MQ_A] = 30;
	m->queries_by_qtype[FG_MQ_AAAA] = 14;
	m->queries_by_qtype[FG_MQ_OTHER] = 1;
	m->responses_by_rcode[0] = 40;
	m->responses_by_rcode[3] = 4;
	m->responses_by_rcode[9] = 1;   /* NOTAUTH: shown because non-zero */
	m->dropped = 2;
	m->truncated = 1;
	m->tcp_accepted = 3;
	m->nservices = 2;
	snprintf(m->services[0].id, FG_METRICS_ID_MAX, "www");
	m->services[0].grants[0] = 5;
	m->services[0].grants[1] = 6;
	m->services[0].grants[2] = 7;
	m->services[0].answers = 18;
	snprintf(m->services[1].id, FG_METRICS_ID_MAX, "mail");
	m->services[1].grant_failures = 1;
	m->grant_commit_failures = 1;
	fg_hist_t h = { 0 };
	fg_hist_observe(&h, 0.0002);
	fg_hist_observe(&h, 0.0004);
	fg_hist_snapshot_add(&m->grant_latency, &h);
	m->npools = 2;
	snprintf(m->pools[0].id, FG_METRICS_ID_MAX, "web4");
	m->pools[0].family = AF_INET;
	m->pools[0].size = 254;
	m->pools[0].open = 25;
	snprintf(m->pools[1].id, FG_METRICS_ID_MAX, "web6");
	m->pools[1].family = AF_INET6;
	m->pools[1].size = UINT64_MAX;
	m->pools[1].open = 3;
	m->has_dataplane = true;
	m->pinned = 9;
	m->granted[0] = 2;
	m->quarantined = 1;
	m->decoy_hits = 77;
	m->decoy_malformed = 4;
	m->quarantines = 1;
	m->netlink_errors = 0;
	m->has_conntrack = true;
	m->conntrack_entries = 120;
	m->conntrack_max = 262144;
	m->events_written = 100;
	m->events_dropped = 5;
	m->control_errors = 2;
	m->control_refused = 4;
	m->control_timeouts = 6;
	m->tcp_source_rejected = 7;
	m->tcp_evicted = 8;
	m->tcp_query_timeouts = 9;
	m->privsep_refused = 7;
	m->reloads_ok = 1;
}

static char *render(const fg_metrics_t *m)
{
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(fg_metrics_render(m, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_true(len > 0 && text[len - 1] == '\n');
	return text;
}

static void assert_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("line not found: %s", line);
}

static void assert_no_metric(const char *text, const char *name)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\nfluxgate_%s", name);
	assert_null(strstr(text, pat));
}

static void test_render_values(void **state)
{
	(void)state;
	fg_metrics_t m;
	fill(&m);
	char *t = render(&m);
	assert_has_line(t, "fluxgate_build_info{version=\"0.1.0\",commit=\"abc123\"} 1");
	assert_has_line(t, "fluxgate_start_time_seconds 1795317855.250");
	assert_has_line(t, "fluxgate_dns_queries_total{proto=\"udp\"} 42");
	assert_has_line(t, "fluxgate_dns_queries_total{proto=\"tcp\"} 3");
	assert_has_line(t, "fluxgate_dns_query_types_total{qtype=\"AAAA\"} 14");
	assert_has_line(t, "fluxgate_dns_query_types_total{qtype=\"other\"} 1");
	assert_has_line(t, "fluxgate_dns_responses_total{rcode=\"NOERROR\"} 40");
	assert_has_line(t, "fluxgate_dns_responses_total{rcode=\"SERVFAIL\"} 0");
	assert_has_line(t, "fluxgate_dns_responses_total{rcode=\"BADVERS\"} 0");
	assert_has_line(t, "fluxgate_dns_responses_total{rcode=\"NOTAUTH\"} 1");
	assert_null(strstr(t, "rcode=\"NOTZONE\""));   /* zero and unusual: left out */
	assert_has_line(t, "fluxgate_grants_total{service=\"www\",scope=\"net\"} 6");
	assert_has_line(t, "fluxgate_grants_total{service=\"mail\",scope=\"any\"} 0");
	assert_has_line(t, "fluxgate_service_answers_total{service=\"www\"} 18");
	assert_has_line(t, "fluxgate_grant_failures_total{service=\"mail\"} 1");
	assert_has_line(t, "fluxgate_grant_duration_seconds_bucket{le=\"0.00025\"} 1");
	assert_has_line(t, "fluxgate_grant_duration_seconds_bucket{le=\"0.0005\"} 2");
	assert_has_line(t, "fluxgate_grant_duration_seconds_bucket{le=\"+Inf\"} 2");
	assert_has_line(t, "fluxgate_grant_duration_seconds_count 2");
	assert_has_line(t, "fluxgate_grant_duration_seconds_sum 0.000600000");
	assert_has_line(t, "fluxgate_pool_addresses{pool=\"web4\",family=\"ipv4\"} 254");
	assert_has_line(t, "fluxgate_pool_addresses{pool=\"web6\",family=\"ipv6\"} 18446744073709551615");
	assert_has_line(t, "fluxgate_pool_open_addresses{pool=\"web4\",family=\"ipv4\"} 25");
	assert_has_line(t, "fluxgate_pool_open_ratio{pool=\"web4\",family=\"ipv4\"} 0.0984251969");
	assert_has_line(t, "fluxgate_pinned_flows 9");
	assert_has_line(t, "fluxgate_grants_active{scope=\"client\"} 2");
	assert_has_line(t, "fluxgate_quarantined_sources 1");
	assert_has_line(t, "fluxgate_decoy_hits_total 77");
	assert_has_line(t, "fluxgate_decoy_malformed_total 4");
	assert_has_line(t, "fluxgate_quarantine_actions_total{action=\"quarantine\"} 1");
	assert_has_line(t, "fluxgate_netlink_errors_total 0");
	assert_has_line(t, "fluxgate_conntrack_entries 120");
	assert_has_line(t, "fluxgate_conntrack_entries_max 262144");
	assert_has_line(t, "fluxgate_events_dropped_total 5");
	assert_has_line(t, "fluxgate_control_errors_total 2");
	assert_has_line(t, "fluxgate_control_connections_refused_total 4");
	assert_has_line(t, "fluxgate_control_timeouts_total 6");
	assert_has_line(t, "fluxgate_dns_tcp_connections_total{result=\"source_limit\"} 7");
	assert_has_line(t, "fluxgate_dns_tcp_evicted_total 8");
	assert_has_line(t, "fluxgate_dns_tcp_query_timeouts_total 9");
	assert_has_line(t, "fluxgate_privsep_refused_total 7");
	assert_has_line(t, "fluxgate_config_reloads_total{result=\"success\"} 1");
	free(t);
}

/* The exposition format rules the renderer must keep whatever the values:
 * every sample's family was announced by HELP and TYPE just before; names
 * carry the prefix; counters end in _total; histogram buckets ascend. */
static void test_render_structure(void **state)
{
	(void)state;
	fg_metrics_t m;
	fill(&m);
	char *t = render(&m);
	char family[128] = "", type[32] = "";
	bool help_seen = false;
	uint64_t last_bucket = 0;
	char *save = NULL;
	unsigned samples = 0;
	for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7)) {
			assert_int_equal(sscanf(line + 7, "%127s", family), 1);
			assert_true(strlen(line) > 8 + strlen(family));   /* has text */
			help_seen = true;
			type[0] = '\0';
			last_bucket = 0;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char fam2[128];
			assert_true(help_seen);
			assert_int_equal(sscanf(line + 7, "%127s %31s", fam2, type), 2);
			assert_string_equal(fam2, family);
			assert_int_equal(strncmp(family, "fluxgate_", 9), 0);
			size_t fl = strlen(family);
			bool total = fl > 6 && !strcmp(family + fl - 6, "_total");
			if (!strcmp(type, "counter"))
				assert_true(total);
			else
				assert_false(total);
			continue;
		}
		assert_true(line[0] != '#');
		assert_true(type[0] != '\0');
		size_t fl = strlen(family);
		assert_int_equal(strncmp(line, family, fl), 0);
		const char *rest = line + fl;
		if (!strcmp(type, "histogram")) {
			assert_true(!strncmp(rest, "_bucket{", 8) || !strncmp(rest, "_sum ", 5) ||
				    !strncmp(rest, "_count ", 7));
			if (!strncmp(rest, "_bucket{", 8)) {
				uint64_t v = strtoull(strrchr(line, ' ') + 1, NULL, 10);
				assert_true(v >= last_bucket);
				last_bucket = v;
			}
		} else {
			assert_true(rest[0] == ' ' || rest[0] == '{');
		}
		samples++;
	}
	assert_true(samples > 60);
	free(t);
}

static void test_render_optional_groups_and_escaping(void **state)
{
	(void)state;
	fg_metrics_t m;
	memset(&m, 0, sizeof(m));
	/* nothing known: no version, no services or pools, no gauges that
	 * would lie with a zero */
	char *t = render(&m);
	assert_has_line(t, "fluxgate_build_info{version=\"unknown\",commit=\"\"} 1");
	assert_no_metric(t, "pinned_flows");
	assert_no_metric(t, "conntrack_entries");
	assert_no_metric(t, "quarantined_sources");
	assert_no_metric(t, "grants_total{");
	assert_has_line(t, "fluxgate_decoy_hits_total 0");
	free(t);

	m.npools = 1;
	snprintf(m.pools[0].id, FG_METRICS_ID_MAX, "we\"ird\\id\nx");
	m.pools[0].family = AF_INET;
	m.build.version = "1\"2";
	t = render(&m);
	assert_has_line(t, "fluxgate_pool_addresses{pool=\"we\\\"ird\\\\id\\nx\",family=\"ipv4\"} 0");
	assert_has_line(t, "fluxgate_pool_open_ratio{pool=\"we\\\"ird\\\\id\\nx\",family=\"ipv4\"} 0");
	assert_has_line(t, "fluxgate_build_info{version=\"1\\\"2\",commit=\"\"} 1");
	free(t);

	/* counts beyond the tables are cut, not overrun */
	m.npools = 1000;
	m.nservices = 1000;
	t = render(&m);
	free(t);
}

/* promtool check metrics reads stdin; exit 0 means no problems. */
static int promtool_check(const char *text, bool *ran)
{
	*ran = system("command -v promtool >/dev/null 2>&1") == 0;
	if (!*ran)
		return 0;
	FILE *p = popen("promtool check metrics", "w");
	assert_non_null(p);
	fputs(text, p);
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_promtool(void **state)
{
	(void)state;
	fg_metrics_t m;
	bool ran = false;
	fill(&m);
	char *t = render(&m);
	assert_int_equal(promtool_check(t, &ran), 0);
	free(t);
	if (!ran) {
		printf("NOTE: promtool not on PATH (Debian package prometheus): "
		       "skipping `promtool check metrics`\n");
		return;
	}
	memset(&m, 0, sizeof(m));
	t = render(&m);
	assert_int_equal(promtool_check(t, &ran), 0);
	free(t);
}

/* ---- HTTP endpoint --------------------------------------------------------- */

struct main_loop {
	fg_metrics_srv_t *srv;
	atomic_bool stop, serve;
	_Atomic uint64_t queries;      /* the "daemon state" the collector reads */
	atomic_int collects;
	pthread_t thr;
};

static void collect(void *ctx, fg_metrics_t *m)
{
	struct main_loop *ml = ctx;
	m->build.version = "test";
	m->build.commit = "";
	m->queries_udp = atomic_load(&ml->queries);
	atomic_fetch_add(&ml->collects, 1);
}

/* Plays the daemon's main loop: polls the eventfd and dispatches. */
static void *main_loop(void *arg)
{
	struct main_loop *ml = arg;
	while (!atomic_load(&ml->stop)) {
		struct pollfd pfd = { .fd = fg_metrics_fd(ml->srv), .events = POLLIN };
		if (poll(&pfd, 1, 20) > 0 && atomic_load(&ml->serve))
			fg_metrics_dispatch(ml->srv);
	}
	return NULL;
}

/* One HTTP/1.0 request; returns the status and the body in *body. */
static int http(uint16_t port, const char *method, const char *path, char **body)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	char req[256];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
	assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
		ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	int status = 0;
	assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &status), 1);
	char *sep = strstr(buf, "\r\n\r\n");
	assert_non_null(sep);
	*body = strdup(sep + 4);
	if (strstr(buf, "\r\n\r\n") && status == 200)
		assert_non_null(strstr(buf, "text/plain; version=0.0.4"));
	free(buf);
	return status;
}

static void test_http_endpoint(void **state)
{
	(void)state;
	struct main_loop ml = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(fg_metrics_start((struct sockaddr *)&sin, sizeof(sin), collect, &ml,
					  &ml.srv), 0);
	uint16_t port = fg_metrics_port(ml.srv);
	assert_true(port > 0);
	atomic_store(&ml.serve, true);
	pthread_create(&ml.thr, NULL, main_loop, &ml);

	char *body = NULL;
	atomic_store(&ml.queries, 5);
	assert_int_equal(http(port, "GET", "/metrics", &body), 200);
	assert_has_line(body, "fluxgate_dns_queries_total{proto=\"udp\"} 5");
	assert_has_line(body, "fluxgate_build_info{version=\"test\",commit=\"\"} 1");
	assert_has_line(body, "fluxgate_metrics_scrapes_total 0");
	assert_has_line(body, "fluxgate_metrics_scrape_timeouts_total 0");
	free(body);

	/* values move between scrapes: each scrape collects afresh */
	atomic_store(&ml.queries, 6);
	assert_int_equal(http(port, "GET", "/metrics", &body), 200);
	assert_has_line(body, "fluxgate_dns_queries_total{proto=\"udp\"} 6");
	assert_has_line(body, "fluxgate_metrics_scrapes_total 1");
	free(body);
	assert_int_equal(atomic_load(&ml.collects), 2);

	assert_int_equal(http(port, "GET", "/", &body), 404);
	free(body);
	assert_int_equal(http(port, "GET", "/metricsx", &body), 404);
	free(body);
	assert_int_equal(http(port, "POST", "/metrics", &body), 405);
	free(body);
	assert_int_equal(http(port, "HEAD", "/metrics", &body), 200);
	assert_string_equal(body, "");
	free(body);

	/* a main loop that does not answer: 503 after the timeout */
	atomic_store(&ml.serve, false);
	assert_int_equal(http(port, "GET", "/metrics", &body), 503);
	free(body);
	/* and it recovers (the stale wake-up is absorbed); the endpoint
	 * exports its own counters */
	atomic_store(&ml.serve, true);
	assert_int_equal(http(port, "GET", "/metrics", &body), 200);
	assert_has_line(body, "fluxgate_metrics_scrapes_total 3");
	assert_has_line(body, "fluxgate_metrics_scrape_timeouts_total 1");
	free(body);

	atomic_store(&ml.stop, true);
	pthread_join(ml.thr, NULL);
	fg_metrics_stop(ml.srv);
}

static void test_start_errors(void **state)
{
	(void)state;
	struct main_loop ml = { 0 };
	fg_metrics_srv_t *a = NULL, *b = NULL;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0 };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(fg_metrics_start((struct sockaddr *)&sin, sizeof(sin), collect, &ml, &a), 0);
	/* the same port again: refused with an error code, no crash */
	sin.sin_port = htons(fg_metrics_port(a));
	int rc = fg_metrics_start((struct sockaddr *)&sin, sizeof(sin), collect, &ml, &b);
	assert_true(rc < 0);
	fg_metrics_stop(a);
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	rc = fg_metrics_start((struct sockaddr *)&s6, sizeof(s6), collect, &ml, &a);
	if (rc == 0)   /* hosts without IPv6 loopback may refuse */
		fg_metrics_stop(a);
	sin.sin_family = AF_UNIX;
	assert_int_equal(fg_metrics_start((struct sockaddr *)&sin, sizeof(sin), collect, &ml, &a),
			 -EINVAL);
}

static void test_conntrack_reader(void **state)
{
	(void)state;
	uint64_t c = 0, mx = 0;
	int rc = fg_metrics_read_conntrack(&c, &mx);
	if (rc == 0)
		assert_true(mx > 0 && c <= mx);
	else
		assert_true(rc == -ENOENT || rc == -EACCES || rc == -EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_hist_concurrent),
		cmocka_unit_test(test_qtype_index),
		cmocka_unit_test(test_render_values),
		cmocka_unit_test(test_render_structure),
		cmocka_unit_test(test_render_optional_groups_and_escaping),
		cmocka_unit_test(test_promtool),
		cmocka_unit_test(test_http_endpoint),
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test(test_conntrack_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
