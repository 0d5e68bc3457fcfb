/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab topology: network namespaces, veth links, sysctls, the peers'
 * configurations and processes. fluxlab is a test tool, so it drives `ip`,
 * `nft`, `sysctl`-style /proc writes and the real servers as subprocesses;
 * everything it creates is recorded (namespace names, PIDs) and only that is
 * removed at teardown, which runs on success, on failure and on signals.
 * Children get PR_SET_PDEATHSIG so even a crashed fluxlab leaves no process.
 */
#include "fluxlab/lab.h"
#include "fluxlab/topo_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the standalone topology's six, then distributed mode's agents and the
 * failover pair's switch (made only in that mode) */
static const char *roles[] = { "cli", "res", "gw", "srv", "dcy", "atk", "ag1", "ag2", "ag3", "ag4", "sw", "ext" };
#define NROLES (sizeof roles / sizeof roles[0])
#define NROLES_STANDALONE 6
static bool ns_made[NROLES];
static int ns_fd[NROLES] = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };

static bool role_wanted(const lab_run_t *r, size_t i)
{
	const lab_scenario_t *s = r->sc;
	if (i < NROLES_STANDALONE)
		return true;
	if (s->gateway.mode != LAB_GW_DISTRIBUTED)
		return false;
	if (!strcmp(roles[i], "sw"))
		return s->gateway.pair;
	if (!strcmp(roles[i], "ext"))
		return s->gateway.external != LAB_EXT_NONE;
	return i - NROLES_STANDALONE < s->gateway.agents;
}

static pthread_mutex_t pid_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t pids[64];
static char pid_label[64][32];
static int npids;

const char *topo_ns(lab_run_t *r, const char *role, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s", r->prefix, role);
	return buf;
}

static int role_index(const char *role)
{
	for (size_t i = 0; i < NROLES; i++)
		if (!strcmp(roles[i], role))
			return (int)i;
	return -1;
}

static int role_fd(lab_run_t *r, const char *role)
{
	int i = role_index(role);
	if (i < 0)
		return -1;
	if (ns_fd[i] < 0) {
		char name[64], path[128];
		snprintf(path, sizeof path, "/run/netns/%s", topo_ns(r, role, name, sizeof name));
		ns_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
	}
	return ns_fd[i];
}

int topo_enter(lab_run_t *r, const char *role)
{
	int fd = role_fd(r, role);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		lab_log("cannot enter namespace %s: %s", role, strerror(errno));
		return -1;
	}
	return 0;
}

static void record_pid(pid_t p, const char *label)
{
	pthread_mutex_lock(&pid_lock);
	if (npids < 64) {
		snprintf(pid_label[npids], sizeof pid_label[npids], "%s", label);
		pids[npids++] = p;
	}
	pthread_mutex_unlock(&pid_lock);
}

void topo_forget(pid_t p)
{
	pthread_mutex_lock(&pid_lock);
	for (int i = 0; i < npids; i++)
		if (pids[i] == p) {
			pids[i] = pids[--npids];
			memcpy(pid_label[i], pid_label[npids], sizeof pid_label[i]);
			break;
		}
	pthread_mutex_unlock(&pid_lock);
}

/* fork + (setns) + exec. out_fd: where stdout/stderr go (-1: /dev/null). */
static pid_t fork_exec(lab_run_t *r, const char *role, char *const argv[], int out_fd, bool own_group)
{
	int nsfd = role ? role_fd(r, role) : -1;
	if (role && nsfd < 0)
		return -1;
	pid_t parent = getpid();
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		/* die with fluxlab, whatever happens to it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (own_group)
			setpgid(0, 0);
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(out_fd >= 0 ? out_fd : devnull, 1);
		dup2(out_fd >= 0 ? out_fd : devnull, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	return p;
}

pid_t topo_spawn(lab_run_t *r, const char *role, const char *label, char *const argv[])
{
	char path[700];
	snprintf(path, sizeof path, "%s/%s.log", r->workdir, label);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	pid_t p = fork_exec(r, role, argv, fd, true);
	if (fd >= 0)
		close(fd);
	if (p > 0)
		record_pid(p, label);
	if (r->verbose)
		lab_log("started %s (pid %d) in %s", label, (int)p, role ? role : "-");
	return p;
}

int topo_run(lab_run_t *r, const char *role, char *const argv[], char **out)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid_t p = fork_exec(r, role, argv, pfd[1], false);
	close(pfd[1]);
	if (p < 0) {
		close(pfd[0]);
		return -1;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (buf && len + 1024 > cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
			} else {
				buf = nb;
				cap *= 2;
			}
		}
		char tmp[1024];
		ssize_t n = read(pfd[0], buf ? buf + len : tmp, buf ? cap - len - 1 : sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf)
			len += (size_t)n;
	}
	close(pfd[0]);
	int st = 0;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	if (buf)
		buf[len] = 0;
	if (out)
		*out = buf;
	else
		free(buf);
	if (r->verbose && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		lab_log("command failed (%d): %s ...", WIFEXITED(st) ? WEXITSTATUS(st) : -1, argv[0]);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* run a command given as a NULL-terminated variadic list; output goes to
 * the setup log on failure */
int runv(lab_run_t *r, const char *role, ...)
{
	char *argv[48];
	int n = 0;
	va_list ap;
	va_start(ap, role);
	while (n < 47 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	char *out = NULL;
	int rc = topo_run(r, role, argv, &out);
	if (rc != 0) {
		char line[512] = "";
		size_t o = 0;
		for (int i = 0; i < n; i++)
			o += (size_t)snprintf(line + o, o < sizeof line ? sizeof line - o : 0, "%s ", argv[i]);
		lab_log("'%s' failed (%d): %s", line, rc, out ? out : "");
	}
	free(out);
	return rc;
}

int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		lab_log("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

/* write a sysctl inside a namespace (the /proc/sys/net view is the
 * writer's namespace, so go through a child there) */
int ns_sysctl(lab_run_t *r, const char *role, const char *key, const char *val)
{
	char path[256];
	snprintf(path, sizeof path, "/proc/sys/%s", key);
	for (char *c = path + 10; *c; c++)
		if (*c == '.')
			*c = '/';
	char *argv[] = { "sh", "-c", "printf '%s\\n' \"$2\" > \"$1\"", "sh", path, (char *)val, NULL };
	int rc = topo_run(r, role, argv, NULL);
	if (rc)
		lab_log("sysctl %s=%s in %s failed", key, val, role);
	return rc;
}

/* ------------------------------------------------------------ readiness */

/* wait until a TCP port answers inside role, from a forked child */
int wait_tcp(lab_run_t *r, const char *role, const char *ip, const char *port, double secs)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "exec 3<>/dev/tcp/%s/%s", ip, port);
	double end = lab_now() + secs;
	while (lab_now() < end && !atomic_load(&r->stop)) {
		char *argv[] = { "bash", "-c", cmd, NULL };
		if (topo_run(r, role, argv, NULL) == 0)
			return 0;
		usleep(100000);
	}
	return -1;
}

int wait_dns(lab_run_t *r, const char *role, const char *server, double secs)
{
	char at[64];
	snprintf(at, sizeof at, "@%s", server);
	double end = lab_now() + secs;
	while (lab_now() < end && !atomic_load(&r->stop)) {
		char *out = NULL;
		/* the zone's SOA, not the service: a service answer would open a
		 * pool address to anyone and let the attackers in on the lab's
		 * own account */
		char *argv[] = { "kdig", "+retry=0", "+timeout=1", at, "lab.test", "SOA", NULL };
		topo_run(r, role, argv, &out);
		bool okk = out && strstr(out, "status: NOERROR");
		free(out);
		if (okk)
			return 0;
		usleep(200000);
	}
	return -1;
}

/* ------------------------------------------------------------ configs */

static int web_conf(lab_run_t *r, const char *who, const char *marker)
{
	char d[700], path[800], text[4096];
	snprintf(d, sizeof d, "%s/%s", r->workdir, who);
	snprintf(path, sizeof path, "%s/www", d);
	if (mkdir(d, 0755) < 0 && errno != EEXIST)
		return -1;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof path, "%s/www/index.html", d);
	/* same page on both sides apart from the marker the lab reads */
	snprintf(text, sizeof text, "<html><head><title>www.lab.test</title></head><body>welcome %s</body></html>\n",
		 marker);
	if (write_file(path, text))
		return -1;
	snprintf(path, sizeof path, "%s/lighttpd.conf", d);
	snprintf(text, sizeof text,
		 "server.modules = ( \"mod_openssl\" )\n"
		 "server.document-root = \"%s/www\"\n"
		 "server.port = 80\n"
		 "server.bind = \"0.0.0.0\"\n"
		 "server.pid-file = \"%s/lighttpd.pid\"\n"
		 "server.errorlog = \"%s/error.log\"\n"
		 "server.max-connections = 16384\n"
		 "server.max-fds = 40000\n"
		 "server.listen-backlog = 8192\n"
		 "server.max-keep-alive-requests = 0\n"
		 "index-file.names = ( \"index.html\" )\n"
		 "mimetype.assign = ( \".html\" => \"text/html\" )\n"
		 "$SERVER[\"socket\"] == \"0.0.0.0:443\" {\n"
		 "  ssl.engine = \"enable\"\n"
		 "  ssl.pemfile = \"%s/tls.crt\"\n"
		 "  ssl.privkey = \"%s/tls.key\"\n"
		 "}\n",
		 d, d, d, r->workdir, r->workdir);
	if (r->pool6_plen) {
		/* dual stack: the same site on the IPv6 backend / decoy address */
		size_t o = strlen(text);
		snprintf(text + o, sizeof text - o,
			 "$SERVER[\"socket\"] == \"[::]:80\" { }\n"
			 "$SERVER[\"socket\"] == \"[::]:443\" {\n"
			 "  ssl.engine = \"enable\"\n"
			 "  ssl.pemfile = \"%s/tls.crt\"\n"
			 "  ssl.privkey = \"%s/tls.key\"\n"
			 "}\n",
			 r->workdir, r->workdir);
	}
	if (r->sizes) {
		/* legit.sizes: a sized GET asks a Range of a sparse file (or
		 * the empty one), the marker rides in a header since the body
		 * is the file's bytes; requests carry a padding header */
		size_t o = strlen(text);
		snprintf(text + o, sizeof text - o,
			 "server.modules += ( \"mod_setenv\" )\n"
			 "setenv.add-response-header = ( \"X-Lab\" => \"%s\" )\n"
			 "server.max-request-field-size = 65535\n", marker);
		char f[800];
		snprintf(f, sizeof f, "%s/www/" LAB_EMPTY_FILE, d);
		if (write_file(f, ""))
			return -1;
		snprintf(f, sizeof f, "%s/www/" LAB_SIZE_FILE, d);
		int fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)LAB_SIZE_MAX) < 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return write_file(path, text);
}

static int unbound_conf(lab_run_t *r)
{
	char d[700], path[800], text[3400], ecs[300] = "";
	snprintf(d, sizeof d, "%s/unbound", r->workdir);
	mkdir(d, 0755);
	snprintf(path, sizeof path, "%s/unbound.conf", d);
	/* with dns.ecs, unbound's subnetcache sends each client's prefix, so
	 * fluxgated scopes grants to it instead of opening them to anyone */
	if (r->sc->dns.ecs)
		snprintf(ecs, sizeof ecs,
			 "  module-config: \"subnetcache iterator\"\n"
			 "  send-client-subnet: 10.0.4.1\n"
			 "  max-client-subnet-ipv4: %u\n"
			 "  min-client-subnet-ipv4: 0\n",
			 r->sc->dns.ecs);
	else
		snprintf(ecs, sizeof ecs, "  module-config: \"iterator\"\n");
	if (r->sc->dns.ecs && r->pool6_plen) {
		size_t o = strlen(ecs);
		snprintf(ecs + o, sizeof ecs - o, "  max-client-subnet-ipv6: %u\n  min-client-subnet-ipv6: 0\n",
			 r->sc->dns.ecs6 ? r->sc->dns.ecs6 : 56);
	}
	/* dual stack: IPv6 clients ask over IPv6; upstream stays IPv4 */
	char v6[200] = "  do-ip6: no\n";
	if (r->pool6_plen)
		snprintf(v6, sizeof v6, "  interface: " LAB_RESOLVER6 "\n  do-ip6: yes\n  access-control: ::/0 allow\n");
	snprintf(text, sizeof text,
		 "server:\n"
		 "  interface: 10.0.4.53\n"
		 "  port: 53\n"
		 "%s"
		 "  outgoing-interface: 10.0.4.53\n"
		 "  chroot: \"\"\n"
		 "  username: \"\"\n"
		 "  directory: \"%s\"\n"
		 "  pidfile: \"%s/unbound.pid\"\n"
		 "  use-syslog: no\n"
		 "  logfile: \"\"\n"
		 "  verbosity: 0\n"
		 "  num-threads: 1\n"
		 "  so-reuseport: no\n"
		 "  so-rcvbuf: 4m\n"
		 "  num-queries-per-thread: 4096\n"
		 "  outgoing-range: 8192\n"
		 "  do-not-query-localhost: no\n"
		 "  access-control: 0.0.0.0/0 allow\n"
		 "  cache-min-ttl: %u\n"
		 "  prefetch: no\n"
		 "  serve-expired: no\n"
		 "  qname-minimisation: no\n"
		 "  domain-insecure: \"lab.test\"\n"
		 "  local-zone: \"test.\" nodefault\n"
		 "%s"
		 "remote-control:\n"
		 "  control-enable: no\n"
		 "stub-zone:\n"
		 "  name: \"lab.test\"\n"
		 "  stub-addr: %s\n",
		 v6, d, d, r->sc->dns.min_ttl_ms / 1000u, ecs,
		 /* gateway.external-dns: the zone is the external server's */
		 r->sc->gateway.external ? "10.0.6.53" : "10.0.4.1");
	return write_file(path, text);
}

static int fluxgated_conf(lab_run_t *r)
{
	const lab_scenario_t *s = r->sc;
	char path[800], text[4096], sock[700];
	snprintf(path, sizeof path, "%s/fluxgated.conf", r->workdir);
	/* gateway.pool6: a second pool, an IPv6 backend and decoy next hop,
	 * listeners for stub clients and attackers over IPv6 */
	bool v6 = r->pool6_plen != 0;
	char pool6[160] = "";
	if (v6)
		snprintf(pool6, sizeof pool6, "  - id: lab6\n    prefix: \"%s\"\n", s->gateway.pool6);
	/* dns.ecs6: fluxgated takes the IPv6 prefix unbound is told to send */
	char ecs6[48] = "";
	if (v6 && s->dns.ecs && s->dns.ecs6)
		snprintf(ecs6, sizeof ecs6, "  ecs-min-prefix6: %u\n", s->dns.ecs6);
	char workers[16];
	if (s->gateway.workers)
		snprintf(workers, sizeof workers, "%u", s->gateway.workers);
	else
		snprintf(workers, sizeof workers, "auto");
	snprintf(text, sizeof text,
		 "# generated by fluxlab for scenario %s\n"
		 "server:\n"
		 "  listen: [ \"10.0.4.1@53\", \"10.0.1.1@53\", \"10.0.5.1@53\"%s ]\n"
		 "  user: nobody\n"
		 "  workers: %s\n"
		 "control:\n"
		 "  socket: \"%s\"\n"
		 "log:\n"
		 "  level: warning\n"
		 "  file: \"%s/events.jsonl\"\n"
		 "zone:\n"
		 "  - domain: lab.test\n"
		 "    ttl: 300\n"
		 "    soa: { mname: ns1.lab.test., rname: hostmaster.lab.test., serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 1s }\n"
		 "    records:\n"
		 "      - \"@ NS ns1\"\n"
		 "      - \"ns1 A 10.0.4.1\"\n"
		 "pool:\n"
		 "  - id: lab4\n"
		 "    prefix: %s\n"
		 "%s"
		 "service:\n"
		 "  - id: www\n"
		 "    name: " LAB_SERVICE_NAME "\n"
		 "    backend: [ 10.0.2.10%s ]\n"
		 "    ports: [ any ]\n"
		 "    pool: [ lab4%s ]\n"
		 "    ttl: %us\n"
		 "    grace: %ums\n"
		 "    pin: %ums\n"
		 "    rotation: per-answer\n"
		 "    max-open-fraction: %g\n"
		 "decoy:\n"
		 "  route-via: [ 10.0.3.10%s ]\n"
		 "policy:\n"
		 "  direct: [ 10.1.0.0/16%s ]\n"
		 /* only the lab's caching resolver may obtain "anyone" grants:
		  * forged queries from elsewhere get exact-client scope */
		 "  resolvers: [ 10.0.4.53/32%s ]\n"
		 "%s"
		 "nat:\n"
		 "  backend: nft\n"
		 "  table: fluxgate\n",
		 s->name, v6 ? ", \"fd00:4::1@53\", \"" LAB_GW_CLI6 "@53\", \"fd00:5::1@53\"" : "", workers,
		 lab_control_sock(r, sock, sizeof sock), r->workdir, s->gateway.pool, pool6, v6 ? ", \"fd00:2::10\"" : "", v6 ? ", lab6" : "",
		 s->gateway.ttl_ms / 1000, s->gateway.grace_ms, s->gateway.pin_ms, s->gateway.max_open_fraction,
		 v6 ? ", \"fd00:3::10\"" : "", v6 ? ", \"" LAB_LEGIT_NET6 "/64\"" : "",
		 v6 ? ", \"" LAB_RESOLVER6 "/128\"" : "", ecs6);
	/* rate limiting: the daemon's defaults unless the scenario says */
	size_t n = strlen(text);
	if (s->gateway.rrl_rate >= 0 || s->gateway.rrl_slip >= 0)
		n += (size_t)snprintf(text + n, sizeof text - n, "rrl:\n");
	if (s->gateway.rrl_rate >= 0 && n < sizeof text)
		n += (size_t)snprintf(text + n, sizeof text - n, "  rate: %ld\n", s->gateway.rrl_rate);
	if (s->gateway.rrl_slip >= 0 && n < sizeof text)
		snprintf(text + n, sizeof text - n, "  slip: %ld\n", s->gateway.rrl_slip);
	return write_file(path, text);
}

/* SYN counters at the real server and the decoy bed: the ground truth of
 * who reached whom, independent of what the clients concluded */
static int install_counters(lab_run_t *r, const char *role)
{
	char text[12288];
	size_t o = 0;
	o += (size_t)snprintf(text + o, sizeof text - o,
			      "table inet fluxlab {\n counter legit_syn {}\n counter legit6_syn {}\n"
			      " counter atk_own_syn {}\n");
	for (int k = 0; k < LAB_MAX_ATTACKS; k++)
		o += (size_t)snprintf(text + o, sizeof text - o, " counter atk%d_syn {}\n", k);
	o += (size_t)snprintf(text + o, sizeof text - o,
			      " chain in {\n  type filter hook prerouting priority -300; policy accept;\n"
			      "  tcp flags & (syn|ack) != syn return\n"
			      "  ip saddr 10.1.0.0/16 counter name legit_syn\n"
			      "  ip saddr 10.0.5.0/24 counter name atk_own_syn\n"
			      "  ip6 saddr " LAB_LEGIT_NET6 "/64 counter name legit6_syn\n"
			      "  ip6 saddr fd00:5::/64 counter name atk_own_syn\n");
	for (int k = 0; k < LAB_MAX_ATTACKS; k++)
		o += (size_t)snprintf(text + o, sizeof text - o,
				      "  ip saddr 10.%d.0.0/16 counter name atk%d_syn\n"
				      "  ip6 saddr " LAB_ATK_NET6_FMT "/64 counter name atk%d_syn\n",
				      16 + k, k, (unsigned)k, k);
	snprintf(text + o, sizeof text - o, " }\n}\n");
	char path[800];
	snprintf(path, sizeof path, "%s/counters-%s.nft", r->workdir, role);
	if (write_file(path, text))
		return -1;
	return runv(r, role, "nft", "-f", path, NULL);
}

uint64_t topo_counter(lab_run_t *r, const char *role, const char *name)
{
	char *out = NULL;
	char *argv[] = { "nft", "list", "counter", "inet", "fluxlab", (char *)name, NULL };
	if (topo_run(r, role, argv, &out) != 0 || !out) {
		free(out);
		return 0;
	}
	unsigned long long v = 0;
	char *p = strstr(out, "packets ");
	if (p)
		v = strtoull(p + 8, NULL, 10);
	free(out);
	return v;
}

/* ------------------------------------------------------------ setup */

int link_pair(lab_run_t *r, const char *a, const char *ifa, const char *addra,
		     const char *b, const char *ifb, const char *addrb)
{
	char na[64], nb[64];
	topo_ns(r, a, na, sizeof na);
	topo_ns(r, b, nb, sizeof nb);
	if (runv(r, NULL, "ip", "link", "add", ifa, "netns", na, "type", "veth", "peer", "name", ifb,
		 "netns", nb, NULL))
		return -1;
	if (runv(r, a, "ip", "addr", "add", addra, "dev", ifa, NULL) ||
	    runv(r, b, "ip", "addr", "add", addrb, "dev", ifb, NULL) ||
	    runv(r, a, "ip", "link", "set", ifa, "up", NULL) ||
	    runv(r, b, "ip", "link", "set", ifb, "up", NULL))
		return -1;
	/* big queues: thousands of clients burst at once on one veth */
	runv(r, a, "ip", "link", "set", ifa, "txqueuelen", "10000", NULL);
	runv(r, b, "ip", "link", "set", ifb, "txqueuelen", "10000", NULL);
	return 0;
}

/* gateway.pool6: IPv6 on every link (no duplicate address detection: the
 * links are ours), AnyIP /64s for the IPv6 clients and attackers, default
 * routes, forwarding in the gateway and the pool's local route on the
 * decoy bed. */
static int setup_v6(lab_run_t *r)
{
	static const struct { const char *a, *ifa, *addra, *b, *ifb, *addrb, *gw; } l6[] = {
		{ "cli", "eth0", "fd00:1::2/64", "gw", "c0", "fd00:1::1/64", "fd00:1::1" },
		{ "res", "eth0", "fd00:4::53/64", "gw", "r0", "fd00:4::1/64", "fd00:4::1" },
		{ "srv", "eth0", "fd00:2::10/64", "gw", "s0", "fd00:2::1/64", "fd00:2::1" },
		{ "dcy", "eth0", "fd00:3::10/64", "gw", "d0", "fd00:3::1/64", "fd00:3::1" },
		{ "atk", "eth0", "fd00:5::2/64", "gw", "a0", "fd00:5::1/64", "fd00:5::1" },
	};
	for (size_t i = 0; i < sizeof l6 / sizeof l6[0]; i++)
		if (runv(r, l6[i].a, "ip", "-6", "addr", "add", l6[i].addra, "dev", l6[i].ifa, "nodad", NULL) ||
		    runv(r, l6[i].b, "ip", "-6", "addr", "add", l6[i].addrb, "dev", l6[i].ifb, "nodad", NULL) ||
		    runv(r, l6[i].a, "ip", "-6", "route", "add", "default", "via", l6[i].gw, NULL))
			return -1;
	/* IPv6 binds an address of a local route only with nonlocal_bind
	 * (IPv4's AnyIP needs nothing) */
	if (ns_sysctl(r, "cli", "net.ipv6.ip_nonlocal_bind", "1") ||
	    ns_sysctl(r, "atk", "net.ipv6.ip_nonlocal_bind", "1") ||
	    ns_sysctl(r, "gw", "net.ipv6.conf.all.forwarding", "1") ||
	    runv(r, "cli", "ip", "-6", "route", "add", "local", LAB_LEGIT_NET6 "/64", "dev", "lo", NULL) ||
	    runv(r, "atk", "ip", "-6", "route", "add", "local", "fd10::/48", "dev", "lo", NULL) ||
	    runv(r, "gw", "ip", "-6", "route", "add", LAB_LEGIT_NET6 "/64", "via", "fd00:1::2", NULL) ||
	    runv(r, "gw", "ip", "-6", "route", "add", "fd10::/48", "via", "fd00:5::2", NULL) ||
	    runv(r, "dcy", "ip", "-6", "route", "add", "local", r->sc->gateway.pool6, "dev", "lo", NULL))
		return -1;
	return 0;
}

static pid_t start(lab_run_t *r, const char *role, const char *label, char *const argv[])
{
	pid_t p = topo_spawn(r, role, label, argv);
	if (p < 0)
		lab_log("cannot start %s", label);
	return p;
}

/* The decoy bed is fluxdecoy (issue 10). Its persona is what `fluxdecoy
 * clone` captures from a lighttpd configured as the real one but serving
 * the decoy's page (run for the capture only, then stopped): the same
 * header bytes as the real server, only the marker the lab's classifier
 * reads differs. SSH and SMTP repeat the lab banner's lines with the decoy
 * marker. Returns fluxdecoy's PID or -1. */
static pid_t decoy_bed(lab_run_t *r, const char *crt, const char *key)
{
	char wconf[800], persona[800], conf[800], text[4096];
	snprintf(wconf, sizeof wconf, "%s/dcy/lighttpd.conf", r->workdir);
	snprintf(persona, sizeof persona, "%s/dcy/decoy.persona", r->workdir);
	snprintf(conf, sizeof conf, "%s/dcy/fluxdecoy.conf", r->workdir);
	char *l2[] = { "lighttpd", "-D", "-f", wconf, NULL };
	pid_t pl = start(r, "dcy", "lighttpd-dcy-clone", l2);
	if (pl < 0)
		return -1;
	int rc = wait_tcp(r, "dcy", "10.0.3.10", "80", 15) || wait_tcp(r, "dcy", "10.0.3.10", "443", 15);
	/* legit.sizes: the size files become sized pages (fluxdecoy.conf(5)),
	 * so a decoy answers a ranged GET with the drawn size as lighttpd does */
	char *cl[] = { r->fluxdecoy, "clone", "--from", "10.0.3.10", "--ports", "tcp/80,tcp/443",
		       "--name", "lab", "-o", persona,
		       r->sizes ? "--paths" : NULL, "/" LAB_SIZE_FILE ",/" LAB_EMPTY_FILE, NULL };
	char *out = NULL;
	if (rc == 0 && topo_run(r, "dcy", cl, &out) != 0) {
		lab_log("fluxdecoy clone of the decoy page failed:\n%s", out ? out : "");
		rc = -1;
	}
	free(out);
	kill(pl, SIGTERM);
	waitpid(pl, NULL, 0);
	if (rc)
		return -1;
	FILE *f = fopen(persona, "a");
	if (!f)
		return -1;
	fprintf(f, "  - port: 22\n    kind: ssh\n"
		"    ssh-version: \"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3 %s\"\n"
		"    kex-algorithms: [sntrup761x25519-sha512@openssh.com, curve25519-sha256, "
		"curve25519-sha256@libssh.org, ecdh-sha2-nistp256, ext-info-s]\n"
		"    host-key-algorithms: [rsa-sha2-512, rsa-sha2-256, ecdsa-sha2-nistp256, ssh-ed25519]\n"
		"    ciphers-c2s: [chacha20-poly1305@openssh.com, aes128-ctr, aes256-gcm@openssh.com]\n"
		"    ciphers-s2c: [chacha20-poly1305@openssh.com, aes128-ctr, aes256-gcm@openssh.com]\n"
		"    macs-c2s: [umac-64-etm@openssh.com, hmac-sha2-256-etm@openssh.com]\n"
		"    macs-s2c: [umac-64-etm@openssh.com, hmac-sha2-256-etm@openssh.com]\n"
		"    compression-c2s: [none, zlib@openssh.com]\n"
		"    compression-s2c: [none, zlib@openssh.com]\n"
		"  - port: 25\n    kind: smtp\n"
		"    smtp-greeting: \"220 mail.lab.test ESMTP Postfix (Debian/GNU) %s\\r\\n\"\n"
		"    smtp-ehlo: \"250-mail.lab.test\\r\\n250-PIPELINING\\r\\n250 8BITMIME\\r\\n\"\n",
		LAB_MARK_DECOY, LAB_MARK_DECOY);
	if (fclose(f))
		return -1;
	snprintf(text, sizeof text,
		 "# generated by fluxlab: the decoy bed\n"
		 "decoy:\n"
		 "  user: nobody\n"
		 "  max-clients: 65536\n"
		 "  idle-timeout: 30s\n"
		 "persona:\n"
		 "  - id: web\n"
		 "    file: %s\n"
		 "    tls-cert: %s\n"
		 "    tls-key: %s\n",
		 persona, crt, key);
	if (write_file(conf, text))
		return -1;
	char *chk[] = { r->fluxdecoy, "--check", "-c", conf, NULL };
	out = NULL;
	if (topo_run(r, NULL, chk, &out) != 0) {
		lab_log("generated fluxdecoy config rejected:\n%s", out ? out : "");
		free(out);
		return -1;
	}
	free(out);
	char *fd[] = { r->fluxdecoy, "-c", conf, NULL };
	return start(r, "dcy", "fluxdecoy", fd);
}


bool topo_alive(pid_t p)
{
	int st;
	return p > 0 && waitpid(p, &st, WNOHANG) == 0;
}

void show_log(lab_run_t *r, const char *label)
{
	char path[800];
	snprintf(path, sizeof path, "%s/%s.log", r->workdir, label);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f) && n++ < 30)
		fprintf(stderr, "  %s| %s", label, line);
	fclose(f);
}

int topo_setup(lab_run_t *r)
{
	char name[64];
	bool dist = r->sc->gateway.mode == LAB_GW_DISTRIBUTED;
	for (size_t i = 0; i < NROLES; i++) {
		if (atomic_load(&r->stop))
			return -1;
		if (!role_wanted(r, i))
			continue;
		if (runv(r, NULL, "ip", "netns", "add", topo_ns(r, roles[i], name, sizeof name), NULL))
			return -1;
		ns_made[i] = true;
		if (runv(r, roles[i], "ip", "link", "set", "lo", "up", NULL))
			return -1;
	}
	if (link_pair(r, "cli", "eth0", "10.0.1.2/24", "gw", "c0", "10.0.1.1/24") ||
	    link_pair(r, "res", "eth0", "10.0.4.53/24", "gw", "r0", "10.0.4.1/24") ||
	    link_pair(r, "atk", "eth0", "10.0.5.2/24", "gw", "a0", "10.0.5.1/24"))
		return -1;
	/* distributed: the servers sit behind the agents, not the gateway */
	if (dist ? topo_dist_links(r)
		 : link_pair(r, "srv", "eth0", "10.0.2.10/24", "gw", "s0", "10.0.2.1/24") ||
			   link_pair(r, "dcy", "eth0", "10.0.3.10/24", "gw", "d0", "10.0.3.1/24"))
		return -1;
	if ((r->pool6_plen && setup_v6(r)) || topo_server_rate(r))
		return -1;
	char pool[64];
	snprintf(pool, sizeof pool, "%s", r->sc->gateway.pool);
	if (runv(r, "cli", "ip", "route", "add", "default", "via", "10.0.1.1", NULL) ||
	    runv(r, "cli", "ip", "route", "add", "local", "10.1.0.0/16", "dev", "lo", NULL) ||
	    runv(r, "atk", "ip", "route", "add", "default", "via", "10.0.5.1", NULL) ||
	    runv(r, "atk", "ip", "route", "add", "local", "10.16.0.0/12", "dev", "lo", NULL) ||
	    runv(r, "res", "ip", "route", "add", "default", "via", "10.0.4.1", NULL) ||
	    (!dist && runv(r, "srv", "ip", "route", "add", "default", "via", "10.0.2.1", NULL)) ||
	    (!dist && runv(r, "dcy", "ip", "route", "add", "default", "via", "10.0.3.1", NULL)) ||
	    runv(r, "dcy", "ip", "route", "add", "local", pool, "dev", "lo", NULL) ||
	    runv(r, "gw", "ip", "route", "add", "10.1.0.0/16", "via", "10.0.1.2", NULL) ||
	    runv(r, "gw", "ip", "route", "add", "10.16.0.0/12", "via", "10.0.5.2", NULL))
		return -1;
	/* gateway: forwarding; no reverse-path filter (decoys answer from pool
	 * addresses); strict TCP conntrack as fluxgated's design requires */
	const char *gw_sysctl[][2] = {
		{ "net.ipv4.ip_forward", "1" },
		{ "net.ipv4.conf.all.rp_filter", "0" },
		{ "net.ipv4.conf.default.rp_filter", "0" },
		{ "net.netfilter.nf_conntrack_tcp_loose", "0" },
	};
	for (size_t i = 0; i < sizeof gw_sysctl / sizeof gw_sysctl[0]; i++)
		if (ns_sysctl(r, "gw", gw_sysctl[i][0], gw_sysctl[i][1]))
			return -1;
	const char *ifs[] = { "c0", "r0", "a0", "s0", "d0" };
	for (size_t i = 0; i < (dist ? 3u : 5u); i++) {
		char k[96];
		snprintf(k, sizeof k, "net.ipv4.conf.%s.rp_filter", ifs[i]);
		ns_sysctl(r, "gw", k, "0");
	}
	if (r->sc->gateway.ct_time_wait_s) {
		char v[32];
		snprintf(v, sizeof v, "%u", r->sc->gateway.ct_time_wait_s);
		if (ns_sysctl(r, "gw", "net.netfilter.nf_conntrack_tcp_timeout_time_wait", v))
			return -1;
	}
	/* many concurrent clients and servers: wide port range, deep backlogs */
	const char *many[] = { "cli", "atk", "srv", "dcy" };
	for (size_t i = 0; i < 4; i++) {
		ns_sysctl(r, many[i], "net.ipv4.ip_local_port_range", "1024 65535");
		ns_sysctl(r, many[i], "net.core.somaxconn", "16384");
		ns_sysctl(r, many[i], "net.ipv4.tcp_max_syn_backlog", "16384");
		ns_sysctl(r, many[i], "net.ipv4.tcp_tw_reuse", "1");
	}
	/* TLS certificate shared by the real server and the decoys: a decoy
	 * with another certificate would give itself away */
	char crt[700], key[700];
	snprintf(crt, sizeof crt, "%s/tls.crt", r->workdir);
	snprintf(key, sizeof key, "%s/tls.key", r->workdir);
	if (runv(r, NULL, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		 "-nodes", "-subj", "/CN=" LAB_SERVICE_NAME, "-days", "2", "-keyout", key, "-out", crt, NULL))
		return -1;
	if (web_conf(r, "srv", LAB_MARK_REAL) || web_conf(r, "dcy", LAB_MARK_DECOY) || (!dist && fluxgated_conf(r)))
		return -1;
	char wconf[800];
	snprintf(wconf, sizeof wconf, "%s/srv/lighttpd.conf", r->workdir);
	char *l1[] = { "lighttpd", "-D", "-f", wconf, NULL };
	char *b1[] = { r->self, "banner", LAB_MARK_REAL, NULL };
	pid_t pl1 = start(r, "srv", "lighttpd-srv", l1), pl2 = 0;
	if (pl1 < 0 || start(r, "srv", "banner-srv", b1) < 0)
		return -1;
	if ((pl2 = decoy_bed(r, crt, key)) < 0)
		return -1;
	pid_t pu = 0;
	if (r->sc->dns.resolver) {
		if (unbound_conf(r))
			return -1;
		char uconf[800];
		snprintf(uconf, sizeof uconf, "%s/unbound/unbound.conf", r->workdir);
		char *u[] = { "unbound", "-d", "-c", uconf, NULL };
		if ((pu = start(r, "res", "unbound", u)) < 0)
			return -1;
	}
	char fconf[800];
	snprintf(fconf, sizeof fconf, "%s/fluxgated.conf", r->workdir);
	char *chk[] = { r->fluxgated, "--check", "-c", fconf, NULL };
	char *out = NULL;
	if (dist) {
		if ((r->fluxgated_pid = topo_dist_start(r)) < 0)
			return -1;
	} else if (topo_run(r, NULL, chk, &out) != 0) {
		lab_log("generated fluxgated config rejected:\n%s", out ? out : "");
		free(out);
		return -1;
	}
	free(out);
	char *fg[] = { r->fluxgated, "-c", fconf, NULL };
	if (!dist && (r->fluxgated_pid = start(r, "gw", "fluxgated", fg)) < 0)
		return -1;
	/* gateway.external-dns: the controller serves no zone (topo_dist.c
	 * waited for the external server's first UPDATE instead) */
	if (!r->sc->gateway.external && wait_dns(r, "cli", "10.0.1.1", 30) < 0) {
		lab_log("fluxgated does not answer");
		show_log(r, "fluxgated");
		return -1;
	}
	if (pu && wait_dns(r, "cli", "10.0.4.53", 30) < 0) {
		lab_log("unbound does not answer");
		show_log(r, "unbound");
		return -1;
	}
	const char *pr = dist ? topo_dist_probe_role(r) : "gw";
	if (wait_tcp(r, pr, "10.0.2.10", "80", 15) || wait_tcp(r, pr, "10.0.2.10", "443", 15) ||
	    wait_tcp(r, pr, "10.0.2.10", "22", 15) || wait_tcp(r, pr, "10.0.3.10", "80", 15) ||
	    wait_tcp(r, pr, "10.0.3.10", "25", 15)) {
		lab_log("the servers do not listen");
		if (!topo_alive(pl1))
			show_log(r, "lighttpd-srv");
		if (!topo_alive(pl2))
			show_log(r, "fluxdecoy");
		return -1;
	}
	if (install_counters(r, "srv") || install_counters(r, "dcy"))
		return -1;
	return 0;
}

void topo_teardown(lab_run_t *r)
{
	pthread_mutex_lock(&pid_lock);
	pid_t mine[64];
	int n = npids;
	memcpy(mine, pids, sizeof mine);
	npids = 0;
	pthread_mutex_unlock(&pid_lock);
	for (int i = 0; i < n; i++)
		kill(mine[i], SIGTERM);
	double end = lab_now() + 5;
	for (int i = 0; i < n; i++) {
		int st;
		while (waitpid(mine[i], &st, WNOHANG) == 0) {
			if (lab_now() > end) {
				kill(mine[i], SIGKILL);
				waitpid(mine[i], &st, 0);
				break;
			}
			usleep(20000);
		}
	}
	char sock[700];
	if (strncmp(lab_control_sock(r, sock, sizeof sock), r->workdir, strlen(r->workdir)))
		unlink(sock);   /* the one outside the work directory */
	char name[64];
	for (size_t i = 0; i < NROLES; i++) {
		if (ns_fd[i] >= 0) {
			close(ns_fd[i]);
			ns_fd[i] = -1;
		}
		if (ns_made[i]) {
			char *argv[] = { "ip", "netns", "del", (char *)topo_ns(r, roles[i], name, sizeof name), NULL };
			topo_run(r, NULL, argv, NULL);
			ns_made[i] = false;
		}
	}
}

/* `fluxlab clean`: namespaces "fl<pid>-*" whose fluxlab is gone (after a
 * SIGKILL, the only way teardown cannot run). */
int topo_clean_stale(void)
{
	DIR *d = opendir("/run/netns");
	if (!d)
		return 0;
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		int pid;
		char role[32];
		if (sscanf(de->d_name, "fl%d-%31s", &pid, role) != 2 || role_index(role) < 0)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char cmd[300];
		snprintf(cmd, sizeof cmd, "ip netns del %s", de->d_name);
		lab_log("removing stale namespace %s", de->d_name);
		if (system(cmd) == 0)
			n++;
	}
	closedir(d);
	return n;
}
