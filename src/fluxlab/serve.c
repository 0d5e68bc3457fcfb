/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fluxlab serve: the workbench console (see serve.h).
 *
 * One run at a time: the child `fluxlab run` owns the namespaces and the
 * traffic; this process only starts it, signals it and reads the files it
 * writes into runs/ID/ (scenario.yaml, live.jsonl, result.json,
 * report.html, output.txt; meta.json is written here when it exits). A
 * console that is closed or crashes leaves the run going to its end, and
 * a run's files outlive the server: the list of past runs is the
 * directory. */
#include "fluxlab/serve.h"
#include "conf/conf.h"
#include "lab/scenario.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX   (64 * 1024)   /* an edited scenario */
#define ID_MAX     96
#define TOKEN_MAX  128

typedef struct console {
	char scenarios[PATH_MAX];    /* the palette: *.yaml here */
	char runs[PATH_MAX];         /* one directory per run */
	char assets[PATH_MAX];       /* index.html, console.js, console.css */
	char self[PATH_MAX];         /* this binary, for the child run */
	char host[300];              /* expected Host header: ADDR:PORT */
	char token[TOKEN_MAX];       /* empty: none (loopback only) */
	pthread_mutex_t mu;          /* guards the run state below */
	pthread_cond_t cv;           /* signalled when a run ends */
	pid_t child;                 /* running `fluxlab run`, 0 = idle */
	char id[ID_MAX];             /* current or last run */
	char scenario[128];          /* its scenario's name */
	time_t started;
} console_t;

/* ------------------------------------------------------------ helpers */

static bool valid_id(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= ID_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return strstr(s, "..") == NULL;
}

/* A whole file through the shared reader (conf/conf.h: at most 16 MiB),
 * refused past `max`; NULL with errno set. */
static char *read_file(const char *path, size_t max, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	int rc = fg_conf_read_file(path, &buf, &n, NULL, NULL);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	if (n > max) {
		OPENSSL_cleanse(buf, n);   /* it may be the token file */
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}

static int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	size_t n = fwrite(data, 1, len, f);
	return (fclose(f) == 0 && n == len) ? 0 : -1;
}

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, char *body, size_t len,
				const char *ctype)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* json: the reply (reference stolen) */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
	char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!txt)
		return MHD_NO;
	return send_buf(c, status, txt, strlen(txt), "application/json");
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return send_json(c, status, json_pack("{ss}", "error", msg));
}

static enum MHD_Result send_path(struct MHD_Connection *c, const char *path, const char *ctype)
{
	size_t len;
	char *body = read_file(path, 64u << 20, &len);
	if (!body)
		return send_error(c, MHD_HTTP_NOT_FOUND, "not found");
	return send_buf(c, MHD_HTTP_OK, body, len, ctype);
}

/* ------------------------------------------------------------ scenarios */

struct diag_buf {
	json_t *list;
};

static void collect_diag(void *ctx, const char *file, int line, const char *msg)
{
	struct diag_buf *d = ctx;
	char buf[1024];
	if (line > 0)
		snprintf(buf, sizeof buf, "%s:%d: %s", file, line, msg);
	else
		snprintf(buf, sizeof buf, "%s: %s", file, msg);
	json_array_append_new(d->list, json_string(buf));
}

/* Validates text as NAME.yaml; returns the diagnostics (empty: valid). */
static json_t *check_text(const char *name, const char *text, size_t len, lab_scenario_t **out)
{
	char file[160];
	snprintf(file, sizeof file, "%s.yaml", name);
	struct diag_buf d = { json_array() };
	lab_scenario_t *s = NULL;
	if (lab_scenario_load_buffer(file, text, len, &s, collect_diag, &d) == 0) {
		if (out)
			*out = s;
		else
			lab_scenario_free(s);
	} else if (json_array_size(d.list) == 0) {
		json_array_append_new(d.list, json_sprintf("%s: not a valid scenario", file));
	}
	return d.list;
}

static json_t *list_scenarios(console_t *cs)
{
	json_t *arr = json_array();
	struct dirent **ents = NULL;
	int n = scandir(cs->scenarios, &ents, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		size_t l = strlen(f);
		if (l > 5 && !strcmp(f + l - 5, ".yaml") && l - 5 < 128) {
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)(l - 5), f);
			if (valid_id(name))
				json_array_append_new(arr, json_pack("{ss ss}", "name", name, "file", f));
		}
		free(ents[i]);
	}
	free(ents);
	return arr;
}

/* ------------------------------------------------------------ runs */

static void *reaper(void *arg)
{
	console_t *cs = arg;
	pthread_mutex_lock(&cs->mu);
	pid_t pid = cs->child;
	char id[ID_MAX], scen[128];
	snprintf(id, sizeof id, "%s", cs->id);
	snprintf(scen, sizeof scen, "%s", cs->scenario);
	time_t started = cs->started;
	pthread_mutex_unlock(&cs->mu);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	char path[PATH_MAX + 128];
	snprintf(path, sizeof path, "%s/%s/meta.json", cs->runs, id);
	json_t *m = json_pack("{ss ss sI sI si}", "id", id, "scenario", scen, "started", (json_int_t)started,
			      "ended", (json_int_t)time(NULL), "rc", rc);
	if (m) {
		json_dump_file(m, path, JSON_COMPACT);
		json_decref(m);
	}
	pthread_mutex_lock(&cs->mu);
	cs->child = 0;
	pthread_cond_broadcast(&cs->cv);
	pthread_mutex_unlock(&cs->mu);
	fprintf(stderr, "fluxlab serve: run %s ended (exit %d)\n", id, rc);
	return NULL;
}

/* Starts a run of text as scenario `name`. Locked by the caller. Returns 0,
 * or an HTTP status with msg set. */
static unsigned start_run(console_t *cs, const char *name, const char *text, size_t len, char *msg,
			  size_t msglen, json_t **diags)
{
	if (cs->child) {
		snprintf(msg, msglen, "a run is already in progress: %s (%s); stop it first", cs->id,
			 cs->scenario);
		return MHD_HTTP_CONFLICT;
	}
	lab_scenario_t *s = NULL;
	json_t *d = check_text(name, text, len, &s);
	if (!s) {
		snprintf(msg, msglen, "%s.yaml is not a valid scenario", name);
		*diags = d;
		return MHD_HTTP_BAD_REQUEST;
	}
	lab_scenario_free(s);
	json_decref(d);
	char id[ID_MAX];
	struct tm tm;
	time_t now = time(NULL);
	gmtime_r(&now, &tm);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	snprintf(id, sizeof id, "%s-%.60s", stamp, name);
	char dir[PATH_MAX + ID_MAX + 2], yaml[sizeof dir + 32], live[sizeof dir + 32], json[sizeof dir + 32],
		html[sizeof dir + 32], outp[sizeof dir + 32], work[sizeof dir + 32];
	snprintf(dir, sizeof dir, "%s/%s", cs->runs, id);
	for (int k = 2; mkdir(dir, 0755) < 0; k++) {
		if (errno != EEXIST || k > 50) {
			snprintf(msg, msglen, "cannot create %.300s: %s", dir, strerror(errno));
			return MHD_HTTP_INTERNAL_SERVER_ERROR;
		}
		snprintf(id, sizeof id, "%s-%.60s-%d", stamp, name, k);
		snprintf(dir, sizeof dir, "%s/%s", cs->runs, id);
	}
	snprintf(yaml, sizeof yaml, "%s/scenario.yaml", dir);
	snprintf(live, sizeof live, "%s/live.jsonl", dir);
	snprintf(json, sizeof json, "%s/result.json", dir);
	snprintf(html, sizeof html, "%s/report.html", dir);
	snprintf(outp, sizeof outp, "%s/output.txt", dir);
	snprintf(work, sizeof work, "%s/work", dir);
	if (write_file(yaml, text, len) < 0) {
		snprintf(msg, msglen, "cannot write %.300s: %s", yaml, strerror(errno));
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, msglen, "fork: %s", strerror(errno));
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (pid == 0) {
		int fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		setpgid(0, 0);   /* its own group: the console's Ctrl-C is not the run's */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(cs->self, cs->self, "run", yaml, "--json", json, "--report", html, "--live", live,
		      "--workdir", work, (char *)NULL);
		_exit(127);
	}
	cs->child = pid;
	snprintf(cs->id, sizeof cs->id, "%s", id);
	snprintf(cs->scenario, sizeof cs->scenario, "%s", name);
	cs->started = now;
	pthread_t t;
	if (pthread_create(&t, NULL, reaper, cs) == 0)
		pthread_detach(t);
	fprintf(stderr, "fluxlab serve: run %s started (pid %d)\n", id, (int)pid);
	return 0;
}

/* SIGINT, as Ctrl-C: the run tears its namespaces down and writes its
 * partial results. Locked by the caller; waits up to `wait_s` for the end. */
static bool stop_run(console_t *cs, int wait_s)
{
	if (!cs->child)
		return false;
	kill(cs->child, SIGINT);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_s;
	while (cs->child && wait_s > 0)
		if (pthread_cond_timedwait(&cs->cv, &cs->mu, &until) == ETIMEDOUT)
			break;
	return true;
}

static json_t *run_summary(console_t *cs, const char *id)
{
	char path[PATH_MAX + ID_MAX + 32];
	snprintf(path, sizeof path, "%s/%s/meta.json", cs->runs, id);
	json_t *meta = json_load_file(path, 0, NULL);
	snprintf(path, sizeof path, "%s/%s/result.json", cs->runs, id);
	json_t *res = json_load_file(path, 0, NULL);
	json_t *o = json_pack("{ss}", "id", id);
	if (meta) {
		json_object_update(o, meta);
		json_decref(meta);
	} else {
		json_object_set_new(o, "rc", json_null());
	}
	if (res) {
		json_t *L = json_object_get(res, "legit"), *A = json_object_get(res, "attack");
		json_t *ex = json_object_get(res, "expect");
		json_object_set(o, "legit_sessions", json_object_get(L, "sessions"));
		json_object_set(o, "misrouted", json_object_get(L, "misrouted"));
		json_object_set(o, "misrouted_text", json_object_get(L, "misrouted_text"));
		json_object_set(o, "misrouted_explained", json_object_get(L, "misrouted_explained"));
		json_object_set(o, "reach_sessions", json_object_get(A, "reach_sessions"));
		json_object_set(o, "reach_syn", json_object_get(A, "reach_syn_at_server"));
		if (ex)
			json_object_set(o, "passed", json_object_get(ex, "passed"));
		/* per family (the report's families.*), for the summary line */
		json_t *fams = json_object_get(res, "families");
		if (fams && json_object_size(fams) > 1)
			json_object_set(o, "families", fams);
		json_object_set_new(o, "has_report", json_true());
		json_decref(res);
	}
	return o;
}

static json_t *list_runs(console_t *cs)
{
	json_t *arr = json_array();
	struct dirent **ents = NULL;
	int n = scandir(cs->runs, &ents, NULL, alphasort);
	for (int i = n - 1; i >= 0; i--) {   /* newest first */
		if (valid_id(ents[i]->d_name) && ents[i]->d_type == DT_DIR)
			json_array_append_new(arr, run_summary(cs, ents[i]->d_name));
		free(ents[i]);
	}
	free(ents);
	return arr;
}

/* ------------------------------------------------------------ live (SSE) */

typedef struct live {
	console_t *cs;
	char path[PATH_MAX + ID_MAX + 32];
	char id[ID_MAX];
	FILE *f;
	char pending[8192];   /* one line read but not yet sent */
	size_t pend;
	bool done;
} live_t;

static bool run_active(console_t *cs, const char *id)
{
	pthread_mutex_lock(&cs->mu);
	bool on = cs->child && !strcmp(cs->id, id);
	pthread_mutex_unlock(&cs->mu);
	return on;
}

/* Thread-per-connection: blocking here for up to a second is fine. */
static ssize_t live_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	live_t *lv = cls;
	(void)pos;
	if (lv->done)
		return MHD_CONTENT_READER_END_OF_STREAM;
	for (int waited = 0; waited < 10; waited++) {
		if (!lv->f)
			lv->f = fopen(lv->path, "re");
		if (lv->f) {
			char line[sizeof lv->pending - 16];
			long at = ftell(lv->f);
			if (fgets(line, sizeof line, lv->f)) {
				size_t l = strlen(line);
				if (l && line[l - 1] == '\n') {
					line[l - 1] = 0;
					int n = snprintf(buf, max, "data: %s\n\n", line);
					if (n > 0 && (size_t)n < max)
						return n;
					return MHD_CONTENT_READER_END_WITH_ERROR;
				}
				fseek(lv->f, at, SEEK_SET);   /* a line still being written */
			}
			clearerr(lv->f);
		}
		if (!run_active(lv->cs, lv->id)) {
			/* ended: one last pass over the file, then the summary */
			if (lv->f) {
				char line[sizeof lv->pending - 16];
				if (fgets(line, sizeof line, lv->f)) {
					line[strcspn(line, "\n")] = 0;
					int n = snprintf(buf, max, "data: %s\n\n", line);
					if (n > 0 && (size_t)n < max)
						return n;
				}
			}
			json_t *s = run_summary(lv->cs, lv->id);
			char *txt = json_dumps(s, JSON_COMPACT);
			json_decref(s);
			int n = snprintf(buf, max, "event: done\ndata: %s\n\n", txt ? txt : "{}");
			free(txt);
			lv->done = true;
			return n > 0 && (size_t)n < max ? n : MHD_CONTENT_READER_END_OF_STREAM;
		}
		usleep(100000);
	}
	int n = snprintf(buf, max, ": waiting\n\n");   /* keeps proxies and the browser patient */
	return n;
}

static void live_free(void *cls)
{
	live_t *lv = cls;
	if (lv->f)
		fclose(lv->f);
	free(lv);
}

static enum MHD_Result serve_live(console_t *cs, struct MHD_Connection *c, const char *id)
{
	if (!valid_id(id))
		return send_error(c, MHD_HTTP_BAD_REQUEST, "invalid run id");
	live_t *lv = calloc(1, sizeof *lv);
	if (!lv)
		return MHD_NO;
	lv->cs = cs;
	snprintf(lv->id, sizeof lv->id, "%s", id);
	snprintf(lv->path, sizeof lv->path, "%s/%s/live.jsonl", cs->runs, id);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 8192, live_read, lv,
								   live_free);
	if (!r) {
		free(lv);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ------------------------------------------------------------ requests */

typedef struct req {
	char *body;
	size_t len;
	bool too_big;
} req_t;

static const char *cookie_token(struct MHD_Connection *c)
{
	return MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "fluxlab_token");
}

static bool token_ok(console_t *cs, struct MHD_Connection *c)
{
	if (!cs->token[0])
		return true;
	const char *given = NULL;
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth && !strncmp(auth, "Bearer ", 7))
		given = auth + 7;
	if (!given)
		given = cookie_token(c);
	if (!given)
		given = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	size_t tl = strlen(cs->token);
	return given && strlen(given) == tl && CRYPTO_memcmp(given, cs->token, tl) == 0;
}

static const char *asset_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (dot && !strcmp(dot, ".js"))
		return "text/javascript; charset=utf-8";
	if (dot && !strcmp(dot, ".css"))
		return "text/css; charset=utf-8";
	if (dot && !strcmp(dot, ".svg"))
		return "image/svg+xml";
	return "text/html; charset=utf-8";
}

static enum MHD_Result route(console_t *cs, struct MHD_Connection *c, const char *url,
			     const char *method, req_t *rq)
{
	bool get = !strcmp(method, MHD_HTTP_METHOD_GET), post = !strcmp(method, MHD_HTTP_METHOD_POST);
	const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
	const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "id");

	if (get && (!strcmp(url, "/") || !strcmp(url, "/index.html"))) {
		char p[PATH_MAX + 32];
		snprintf(p, sizeof p, "%s/index.html", cs->assets);
		size_t len;
		char *body = read_file(p, 1u << 20, &len);
		if (!body)
			return send_error(c, MHD_HTTP_NOT_FOUND, "console assets not found in %s", cs->assets);
		struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
		MHD_add_response_header(r, "Content-Security-Policy",
					"default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'self'");
		if (cs->token[0] && !cookie_token(c)) {
			/* the token came in the URL: keep it in a cookie for the API and SSE */
			char ck[TOKEN_MAX + 80];
			snprintf(ck, sizeof ck, "fluxlab_token=%s; HttpOnly; SameSite=Strict; Path=/", cs->token);
			MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, ck);
		}
		enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (get && !strncmp(url, "/static/", 8)) {
		const char *f = url + 8;
		if (!valid_id(f))
			return send_error(c, MHD_HTTP_NOT_FOUND, "not found");
		char p[PATH_MAX + ID_MAX + 2];
		snprintf(p, sizeof p, "%s/%s", cs->assets, f);
		return send_path(c, p, asset_type(f));
	}
	if (get && !strcmp(url, "/api/scenarios"))
		return send_json(c, MHD_HTTP_OK, list_scenarios(cs));
	if (get && !strcmp(url, "/api/scenario")) {
		if (!name || !valid_id(name))
			return send_error(c, MHD_HTTP_BAD_REQUEST, "name: a scenario name, as /api/scenarios lists");
		char p[PATH_MAX + ID_MAX + 8];
		snprintf(p, sizeof p, "%s/%s.yaml", cs->scenarios, name);
		return send_path(c, p, "text/plain; charset=utf-8");
	}
	if (get && !strcmp(url, "/api/status")) {
		pthread_mutex_lock(&cs->mu);
		json_t *o = json_pack("{ss ss* ss* sI}", "state", cs->child ? "running" : "idle", "id",
				      cs->id[0] ? cs->id : NULL, "scenario", cs->scenario[0] ? cs->scenario : NULL,
				      "started", (json_int_t)cs->started);
		pthread_mutex_unlock(&cs->mu);
		return send_json(c, MHD_HTTP_OK, o);
	}
	if (get && !strcmp(url, "/api/runs"))
		return send_json(c, MHD_HTTP_OK, list_runs(cs));
	if (get && !strcmp(url, "/api/live"))
		return id ? serve_live(cs, c, id) : send_error(c, MHD_HTTP_BAD_REQUEST, "id: a run id");
	if (get && (!strcmp(url, "/api/report") || !strcmp(url, "/api/result"))) {
		if (!id || !valid_id(id))
			return send_error(c, MHD_HTTP_BAD_REQUEST, "id: a run id");
		char p[PATH_MAX + ID_MAX + 32];
		bool html = !strcmp(url, "/api/report");
		snprintf(p, sizeof p, "%s/%s/%s", cs->runs, id, html ? "report.html" : "result.json");
		return send_path(c, p, html ? "text/html; charset=utf-8" : "application/json");
	}
	if (!post)
		return send_error(c, MHD_HTTP_NOT_FOUND, "not found");

	/* POST: state-changing; a cross-site form cannot add this header */
	const char *xf = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fluxlab");
	if (!xf || strcmp(xf, "1"))
		return send_error(c, MHD_HTTP_FORBIDDEN, "POST needs the header X-Fluxlab: 1");
	if (rq->too_big)
		return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "body over %d bytes", BODY_MAX);
	if (!strcmp(url, "/api/check")) {
		if (!name || !valid_id(name))
			return send_error(c, MHD_HTTP_BAD_REQUEST, "name: a scenario name");
		json_t *d = check_text(name, rq->body ? rq->body : "", rq->len, NULL);
		return send_json(c, MHD_HTTP_OK, json_pack("{sb so}", "ok", json_array_size(d) == 0,
							  "diagnostics", d));
	}
	if (!strcmp(url, "/api/start") || !strcmp(url, "/api/restart")) {
		bool restart = !strcmp(url, "/api/restart");
		char msg[512] = "";
		json_t *diags = NULL;
		char *text = NULL;
		size_t len = 0;
		char nm[128];
		pthread_mutex_lock(&cs->mu);
		if (restart) {
			if (!cs->id[0]) {
				pthread_mutex_unlock(&cs->mu);
				return send_error(c, MHD_HTTP_CONFLICT, "nothing to restart: no run yet");
			}
			snprintf(nm, sizeof nm, "%s", cs->scenario);
			char p[PATH_MAX + ID_MAX + 32];
			snprintf(p, sizeof p, "%s/%s/scenario.yaml", cs->runs, cs->id);
			text = read_file(p, BODY_MAX, &len);
			stop_run(cs, 90);
			if (cs->child) {
				pthread_mutex_unlock(&cs->mu);
				free(text);
				return send_error(c, MHD_HTTP_CONFLICT, "the run %s did not stop within 90 s", cs->id);
			}
		} else {
			if (!name || !valid_id(name) || strlen(name) >= sizeof nm) {
				pthread_mutex_unlock(&cs->mu);
				return send_error(c, MHD_HTTP_BAD_REQUEST, "name: a scenario name");
			}
			snprintf(nm, sizeof nm, "%s", name);
			if (rq->body && rq->len) {
				text = malloc(rq->len + 1);
				if (text) {
					memcpy(text, rq->body, rq->len);
					text[rq->len] = 0;
					len = rq->len;
				}
			} else {
				char p[PATH_MAX + ID_MAX + 8];
				snprintf(p, sizeof p, "%s/%s.yaml", cs->scenarios, name);
				text = read_file(p, BODY_MAX, &len);
			}
		}
		if (!text) {
			pthread_mutex_unlock(&cs->mu);
			return send_error(c, MHD_HTTP_NOT_FOUND, "scenario %s not found", nm);
		}
		unsigned st = start_run(cs, nm, text, len, msg, sizeof msg, &diags);
		json_t *o = st ? json_pack("{ss so*}", "error", msg, "diagnostics", diags)
			       : json_pack("{ss ss}", "id", cs->id, "scenario", cs->scenario);
		pthread_mutex_unlock(&cs->mu);
		free(text);
		return send_json(c, st ? st : MHD_HTTP_OK, o);
	}
	if (!strcmp(url, "/api/stop")) {
		pthread_mutex_lock(&cs->mu);
		char stopped[ID_MAX];
		snprintf(stopped, sizeof stopped, "%s", cs->id);
		bool was = stop_run(cs, 0);
		pthread_mutex_unlock(&cs->mu);
		if (!was)
			return send_error(c, MHD_HTTP_CONFLICT, "no run in progress");
		return send_json(c, MHD_HTTP_OK, json_pack("{ss}", "stopping", stopped));
	}
	return send_error(c, MHD_HTTP_NOT_FOUND, "not found");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	console_t *cs = cls;
	(void)version;
	req_t *rq = *con_cls;
	if (!rq) {
		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (rq->len + *upload_size > BODY_MAX) {
			rq->too_big = true;
		} else {
			char *nb = realloc(rq->body, rq->len + *upload_size + 1);
			if (!nb)
				return MHD_NO;
			memcpy(nb + rq->len, upload, *upload_size);
			rq->body = nb;
			rq->len += *upload_size;
			rq->body[rq->len] = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (!host || strcmp(host, cs->host))
		return send_error(c, MHD_HTTP_MISDIRECTED_REQUEST, "Host must be %s", cs->host);
	if (!token_ok(cs, c))
		return send_error(c, MHD_HTTP_UNAUTHORIZED, "a valid token is needed (--token)");
	return route(cs, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	req_t *rq = *con_cls;
	if (rq) {
		free(rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

/* ------------------------------------------------------------ main */

static volatile sig_atomic_t g_quit;
static void on_quit(int sig)
{
	(void)sig;
	g_quit = 1;
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	const char *at = strrchr(s, '@');
	if (!at || at == s)
		return -1;
	char ip[64];
	if ((size_t)(at - s) >= sizeof ip)
		return -1;
	memcpy(ip, s, (size_t)(at - s));
	ip[at - s] = 0;
	char *end;
	long port = strtol(at + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

static void serve_usage(FILE *f)
{
	fprintf(f, "usage: fluxlab serve [--listen ADDR@PORT] [--token TOKEN | --token-file FILE]\n"
		   "                     [--scenarios DIR] [--runs DIR] [--assets DIR]\n");
}

/* default directory next to the binary (a build tree) or the installed one */
static void default_dir(char *out, size_t n, const char *self, const char *rel, const char *installed)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", self);
	char *sl = strrchr(dir, '/');
	if (sl)
		*sl = 0;
	char cand[PATH_MAX + 64];
	snprintf(cand, sizeof cand, "%s/../%s", dir, rel);
	struct stat st;
	if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode) && strlen(cand) < n)
		snprintf(out, n, "%s", cand);
	else
		snprintf(out, n, "%s", installed);
}

int serve_main(int argc, char **argv)
{
	static console_t cs;
	const char *listen = "127.0.0.1@8080", *token = NULL, *token_file = NULL;
	const char *scen = NULL, *runs = NULL, *assets = NULL;
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' }, { "scenarios", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' }, { "assets", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int o;
	optind = 1;
	while ((o = getopt_long(argc, argv, "l:t:T:s:r:a:h", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen = optarg; break;
		case 't': token = optarg; break;
		case 'T': token_file = optarg; break;
		case 's': scen = optarg; break;
		case 'r': runs = optarg; break;
		case 'a': assets = optarg; break;
		case 'h': serve_usage(stdout); return 0;
		default: serve_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		serve_usage(stderr);
		return 2;
	}
	struct sockaddr_in sa;
	if (parse_listen(listen, &sa) < 0) {
		fprintf(stderr, "fluxlab serve: --listen %s: expected IPv4ADDR@PORT, e.g. 127.0.0.1@8080\n", listen);
		return 2;
	}
	if (token_file) {
		size_t len;
		char *t = read_file(token_file, TOKEN_MAX - 1, &len);
		if (!t) {
			fprintf(stderr, "fluxlab serve: --token-file %s: %s\n", token_file, strerror(errno));
			return 2;
		}
		t[strcspn(t, "\r\n")] = 0;
		snprintf(cs.token, sizeof cs.token, "%s", t);
		OPENSSL_cleanse(t, len);
		free(t);
	} else if (token) {
		if (strlen(token) >= sizeof cs.token) {
			fprintf(stderr, "fluxlab serve: --token: at most %d characters\n", TOKEN_MAX - 1);
			return 2;
		}
		snprintf(cs.token, sizeof cs.token, "%s", token);
	}
	for (const char *p = cs.token; *p; p++)
		if (*p <= ' ' || *p == ';' || *p == ',' || *p == '"' || *p == '\\' || *p > '~') {
			fprintf(stderr, "fluxlab serve: the token must be printable ASCII without spaces, ';', ',', '\"' or '\\'\n");
			return 2;
		}
	if (cs.token[0] && strlen(cs.token) < 16) {
		fprintf(stderr, "fluxlab serve: the token must have at least 16 characters\n");
		return 2;
	}
	bool loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
	if (!loopback && !cs.token[0]) {
		fprintf(stderr, "fluxlab serve: --listen %s is not a loopback address: the console starts runs as "
				"root, so give --token (or --token-file)\n", listen);
		return 2;
	}
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
	snprintf(cs.host, sizeof cs.host, "%s:%u", ip, (unsigned)ntohs(sa.sin_port));

	ssize_t n = readlink("/proc/self/exe", cs.self, sizeof cs.self - 1);
	if (n <= 0) {
		fprintf(stderr, "fluxlab serve: /proc/self/exe: %s\n", strerror(errno));
		return 3;
	}
	cs.self[n] = 0;
	if (scen)
		snprintf(cs.scenarios, sizeof cs.scenarios, "%s", scen);
	else
		default_dir(cs.scenarios, sizeof cs.scenarios, cs.self, "lab/scenarios", "/usr/share/fluxgate/lab/scenarios");
	if (assets)
		snprintf(cs.assets, sizeof cs.assets, "%s", assets);
	else
		default_dir(cs.assets, sizeof cs.assets, cs.self, "lab/console", "/usr/share/fluxgate/lab/console");
	snprintf(cs.runs, sizeof cs.runs, "%s", runs ? runs : "/var/lib/fluxlab/runs");
	if (mkdir(cs.runs, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "fluxlab serve: --runs %s: %s\n", cs.runs, strerror(errno));
		return 2;
	}
	char probe[PATH_MAX + 32];
	snprintf(probe, sizeof probe, "%s/index.html", cs.assets);
	if (access(probe, R_OK) < 0) {
		fprintf(stderr, "fluxlab serve: no console assets in %s (--assets DIR)\n", cs.assets);
		return 2;
	}
	if (geteuid() != 0)
		fprintf(stderr, "fluxlab serve: warning: not root; runs will fail (they need network namespaces)\n");
	pthread_mutex_init(&cs.mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&cs.cv, &ca);

	/* the run's children are reaped by the reaper thread only */
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, &cs, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)32, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)120, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &cs, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fluxlab serve: cannot listen on %s: %s\n", listen, strerror(errno));
		return 3;
	}
	printf("fluxlab serve: console at http://%s/%s (scenarios %s, runs %s)\n", cs.host,
	       cs.token[0] ? " (token required)" : "", cs.scenarios, cs.runs);
	fflush(stdout);
	struct sigaction q = { .sa_handler = on_quit };
	sigemptyset(&q.sa_mask);
	sigaction(SIGINT, &q, NULL);
	sigaction(SIGTERM, &q, NULL);
	while (!g_quit)
		pause();
	pthread_mutex_lock(&cs.mu);
	if (cs.child) {
		fprintf(stderr, "fluxlab serve: stopping run %s\n", cs.id);
		stop_run(&cs, 90);
	}
	pthread_mutex_unlock(&cs.mu);
	MHD_stop_daemon(d);
	OPENSSL_cleanse(cs.token, sizeof cs.token);
	return 0;
}
