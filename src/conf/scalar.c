/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Scalar parsers of the config loader: TIME, SIZE, integers, fractions,
 * booleans, addresses, prefixes, and the value checks of string items.
 *
 * Everything here is written against ASCII by hand rather than with
 * strtoul/strtod/isdigit: those accept signs, leading blanks, hex and
 * locale-dependent forms that a config file should not, and they differ in
 * how they report overflow.
 */
#include "conf/scalar.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "common/err.h"
#include "conf/conf.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void fg_quote(const char *s, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (outlen == 0)
		return;
	for (i = 0; s[i] && i < FG_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f) {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
		} else {
			/* Control bytes would garble a terminal; UTF-8 is shown
			 * as bytes too, which is rare enough in a config. */
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (s[i] && o + 3 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Leading decimal digits of `*p` into *v; advances *p. -ERANGE on uint64
 * overflow, -FG_ESYNTAX when there is no digit at all. */
static int take_digits(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;

	if (!is_digit(*s))
		return -FG_ESYNTAX;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -ERANGE;
		n = n * 10 + d;
	}
	*p = s;
	*v = n;
	return 0;
}

int fg_scalar_uint(const char *s, uint64_t min, uint64_t max, bool allow_auto,
		   uint64_t *v, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	const char *p = s;
	uint64_t n = 0;
	int rc;

	if (allow_auto && strcmp(s, "auto") == 0) {
		*v = 0;
		return 0;
	}
	rc = take_digits(&p, &n);
	if (rc == 0 && *p != '\0')
		rc = -FG_ESYNTAX;
	if (rc == 0 && (n < min || n > max))
		rc = -ERANGE;
	if (rc < 0) {
		fg_quote(s, q, sizeof(q));
		snprintf(err, errlen, "expected %san integer %llu..%llu, got '%s'",
			 allow_auto ? "'auto' or " : "", (unsigned long long)min,
			 (unsigned long long)max, q);
		return rc;
	}
	*v = n;
	return 0;
}

static const struct unit {
	const char *name;
	uint64_t mult;
} time_units[] = {
	/* longest multiplier first: fg_format_time picks the first exact one */
	{ "w", 604800000ULL }, { "d", 86400000ULL }, { "h", 3600000ULL },
	{ "m", 60000ULL }, { "s", 1000ULL }, { "ms", 1ULL },
}, size_units[] = {
	{ "G", 1ULL << 30 }, { "M", 1ULL << 20 }, { "k", 1ULL << 10 },
	{ "K", 1ULL << 10 }, { "", 1ULL },
};

static int scale(const char *s, const struct unit *units, size_t nunits,
		 uint64_t plain, uint64_t *out)
{
	const char *p = s;
	uint64_t n, mult = 0;
	int rc = take_digits(&p, &n);

	if (rc < 0)
		return rc;
	if (*p == '\0') {
		mult = plain;
	} else {
		for (size_t i = 0; i < nunits; i++)
			if (strcmp(p, units[i].name) == 0)
				mult = units[i].mult;
		if (mult == 0)
			return -FG_ESYNTAX;
	}
	if (n > UINT64_MAX / mult)
		return -ERANGE;
	*out = n * mult;
	return 0;
}

int fg_scalar_time(const char *s, uint64_t *ms, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	/* a bare number is seconds, as in knot.conf */
	int rc = scale(s, time_units, sizeof(time_units) / sizeof(time_units[0]),
		       1000, ms);

	if (rc == -FG_ESYNTAX) {
		fg_quote(s, q, sizeof(q));
		snprintf(err, errlen, "invalid time '%s' (expected a number with "
			 "an optional unit ms, s, m, h, d or w)", q);
	} else if (rc < 0) {
		fg_quote(s, q, sizeof(q));
		snprintf(err, errlen, "time '%s' is too large", q);
	}
	return rc;
}

void fg_format_time(uint64_t ms, char *out, size_t outlen)
{
	for (size_t i = 0; i < sizeof(time_units) / sizeof(time_units[0]); i++) {
		if (ms == 0 && time_units[i].mult != 1000)
			continue;  /* zero reads best as "0s" */
		if (ms % time_units[i].mult == 0) {
			snprintf(out, outlen, "%llu%s",
				 (unsigned long long)(ms / time_units[i].mult),
				 time_units[i].name);
			return;
		}
	}
}

int fg_scalar_size(const char *s, uint64_t *v, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	int rc = scale(s, size_units, sizeof(size_units) / sizeof(size_units[0]),
		       1, v);

	if (rc == -FG_ESYNTAX) {
		fg_quote(s, q, sizeof(q));
		snprintf(err, errlen, "invalid size '%s' (expected a number with "
			 "an optional unit k, M or G)", q);
	} else if (rc < 0) {
		fg_quote(s, q, sizeof(q));
		snprintf(err, errlen, "size '%s' is too large", q);
	}
	return rc;
}

void fg_format_size(uint64_t v, char *out, size_t outlen)
{
	for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (size_units[i].name[0] == 'K')
			continue;  /* print the lower-case spelling */
		if (v != 0 && v % size_units[i].mult == 0) {
			snprintf(out, outlen, "%llu%s",
				 (unsigned long long)(v / size_units[i].mult),
				 size_units[i].name);
			return;
		}
	}
	snprintf(out, outlen, "0");
}

int fg_scalar_float(const char *s, double min, bool min_open, double max,
		    double *v, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	const char *p = s;
	uint64_t mant = 0, div = 1;
	unsigned ndig = 0;
	int rc = 0;
	double x;

	/* digits[.digits], at most 18 of them so the mantissa stays exact */
	if (!is_digit(*p))
		rc = -FG_ESYNTAX;
	for (; rc == 0 && is_digit(*p); p++, ndig++)
		mant = mant * 10 + (uint64_t)(*p - '0');
	if (rc == 0 && *p == '.') {
		p++;
		if (!is_digit(*p))
			rc = -FG_ESYNTAX;
		for (; rc == 0 && is_digit(*p) && ndig <= 18; p++, ndig++) {
			mant = mant * 10 + (uint64_t)(*p - '0');
			div *= 10;
		}
	}
	if (rc == 0 && (*p != '\0' || ndig > 18))
		rc = -FG_ESYNTAX;
	if (rc == 0) {
		x = (double)mant / (double)div;
		if ((min_open ? x <= min : x < min) || x > max)
			rc = -ERANGE;
	}
	if (rc < 0) {
		fg_quote(s, q, sizeof(q));
		snprintf(err, errlen, "expected a number in %c%g, %g], got '%s'",
			 min_open ? '(' : '[', min, max, q);
		return rc;
	}
	*v = x;
	return 0;
}

int fg_scalar_bool(const char *s, bool *v, char *err, size_t errlen)
{
	static const char *const yes[] = { "on", "true", "yes" };
	static const char *const no[] = { "off", "false", "no" };
	char q[4 * FG_QUOTE_MAX + 4];

	for (size_t i = 0; i < 3; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*v = true;
			return 0;
		}
		if (strcmp(s, no[i]) == 0) {
			*v = false;
			return 0;
		}
	}
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "expected on or off, got '%s'", q);
	return -FG_ESYNTAX;
}

/* Parse a bare IPv4 or IPv6 address of `len` bytes. Returns the family or 0. */
static int parse_ip(const char *s, size_t len, uint8_t out[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(out, 0, 16);
	/* a colon can only be IPv6; this keeps "1.2.3.4" out of the v6 parser */
	if (memchr(buf, ':', len))
		return inet_pton(AF_INET6, buf, out) == 1 ? AF_INET6 : 0;
	return inet_pton(AF_INET, buf, out) == 1 ? AF_INET : 0;
}

int fg_scalar_addr(const char *s, uint16_t default_port, bool allow_port,
		   fg_conf_addr_t *out, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	const char *at = strrchr(s, '@');
	size_t alen = at ? (size_t)(at - s) : strlen(s);
	uint64_t port = default_port;
	uint8_t ip[16];
	int family;

	fg_quote(s, q, sizeof(q));
	if (at && !allow_port) {
		snprintf(err, errlen, "expected an address without port, got '%s'", q);
		return -FG_ESYNTAX;
	}
	family = parse_ip(s, alen, ip);
	if (family == 0) {
		snprintf(err, errlen, "invalid address '%s' (expected %s)", q,
			 allow_port ? "ADDR or ADDR@PORT, e.g. 192.0.2.1@53 or "
				      "2001:db8::1@53"
				    : "an IPv4 or IPv6 address such as 192.0.2.1 "
				      "or 2001:db8::1");
		return -FG_ESYNTAX;
	}
	if (at) {
		const char *p = at + 1;
		int rc = take_digits(&p, &port);
		if (rc == 0 && (*p != '\0' || port == 0 || port > 65535))
			rc = -ERANGE;
		if (rc < 0) {
			snprintf(err, errlen, "invalid port in '%s' (expected "
				 "1..65535 after '@')", q);
			return rc;
		}
	}

	/* only the socket address: out->line belongs to the caller */
	memset(&out->ss, 0, sizeof(out->ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, ip, 4);
		out->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, ip, 16);
		out->len = sizeof(*sin6);
	}
	return 0;
}

static size_t family_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

void fg_format_prefix(const fg_conf_prefix_t *p, char *out, size_t outlen)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->first, a, sizeof(a)) ||
	    !inet_ntop(p->family, p->last, b, sizeof(b))) {
		snprintf(out, outlen, "?");
		return;
	}
	/* plen 0 is also what a range stores: a /0 is the only range that
	 * starts at all zeros and ends at all ones */
	bool all = true;
	for (size_t i = 0; i < family_len(p->family); i++)
		if (p->first[i] != 0 || p->last[i] != 0xff)
			all = false;
	if (p->plen || all)
		snprintf(out, outlen, "%s/%u", a, p->plen);
	else
		snprintf(out, outlen, "%s-%s", a, b);
}

void fg_format_addr(const fg_conf_addr_t *a, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		port = ntohs(sin->sin_port);
	} else if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		port = ntohs(sin6->sin6_port);
	}
	if (port)
		snprintf(out, outlen, "%s@%u", ip, port);
	else
		snprintf(out, outlen, "%s", ip);
}

static const char prefix_form[] =
	"expected a CIDR prefix such as 198.51.100.0/24 or a range such as "
	"198.51.100.10-198.51.100.20";

static int parse_cidr(const char *s, const char *slash, fg_conf_prefix_t *out,
		      char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4], fixed[INET6_ADDRSTRLEN + 8];
	uint8_t ip[16];
	const char *p = slash + 1;
	uint64_t plen;
	int family = parse_ip(s, (size_t)(slash - s), ip);
	int rc = family ? take_digits(&p, &plen) : -FG_ESYNTAX;

	fg_quote(s, q, sizeof(q));
	if (rc == 0 && *p != '\0')
		rc = -FG_ESYNTAX;
	if (rc < 0) {
		snprintf(err, errlen, "invalid prefix '%s' (%s)", q, prefix_form);
		return rc;
	}
	if (plen > family_len(family) * 8) {
		snprintf(err, errlen, "invalid prefix length in '%s' (at most %zu "
			 "for %s)", q, family_len(family) * 8,
			 family == AF_INET ? "IPv4" : "IPv6");
		return -ERANGE;
	}
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->plen = (uint8_t)plen;
	for (size_t i = 0, bits = plen; i < family_len(family); i++) {
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
		bits = bits >= 8 ? bits - 8 : 0;
		out->first[i] = ip[i] & m;
		out->last[i] = ip[i] | (uint8_t)~m;
	}
	if (memcmp(out->first, ip, family_len(family)) != 0) {
		/* the operator most likely meant the enclosing network; say so */
		fg_format_prefix(out, fixed, sizeof(fixed));
		snprintf(err, errlen, "host bits set in prefix '%s' (did you mean "
			 "%s?)", q, fixed);
		return -FG_ESYNTAX;
	}
	return 0;
}

static int parse_range(const char *s, const char *dash, fg_conf_prefix_t *out,
		       char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	const char *a = s, *ae = dash, *b = dash + 1, *be = s + strlen(s);
	uint8_t ip1[16], ip2[16];
	int f1, f2;

	/* "first - last" reads naturally; allow blanks around the dash */
	while (ae > a && ae[-1] == ' ')
		ae--;
	while (*b == ' ')
		b++;
	f1 = parse_ip(a, (size_t)(ae - a), ip1);
	f2 = parse_ip(b, (size_t)(be - b), ip2);
	fg_quote(s, q, sizeof(q));
	if (!f1 || !f2) {
		snprintf(err, errlen, "invalid range '%s' (%s)", q, prefix_form);
		return -FG_ESYNTAX;
	}
	if (f1 != f2) {
		snprintf(err, errlen, "range '%s' mixes IPv4 and IPv6", q);
		return -FG_ESYNTAX;
	}
	if (memcmp(ip1, ip2, family_len(f1)) > 0) {
		snprintf(err, errlen, "range '%s' ends before it starts", q);
		return -FG_ESYNTAX;
	}
	memset(out, 0, sizeof(*out));
	out->family = f1;
	memcpy(out->first, ip1, 16);
	memcpy(out->last, ip2, 16);
	return 0;
}

int fg_scalar_prefix(const char *s, fg_conf_prefix_t *out, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	const char *slash = strchr(s, '/'), *dash = strchr(s, '-');

	if (slash && !dash)
		return parse_cidr(s, slash, out, err, errlen);
	if (dash && !slash)
		return parse_range(s, dash, out, err, errlen);
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "invalid prefix '%s' (%s)", q, prefix_form);
	return -FG_ESYNTAX;
}

int fg_check_dname(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	const char *why = NULL;
	size_t len = strlen(s), label = 0;

	if (strcmp(s, ".") == 0)
		return 0;
	if (len > 0 && s[len - 1] == '.')
		len--;  /* absolute form */
	if (len > 253)
		why = "longer than 253 characters";
	for (size_t i = 0; !why && i <= len; i++) {
		char c = i < len ? s[i] : '.';
		if (c == '.') {
			if (label == 0)
				why = "empty label";
			else if (label > 63)
				why = "label longer than 63 characters";
			label = 0;
		} else if (is_alpha(c) || is_digit(c) || c == '-' || c == '_') {
			label++;
		} else {
			why = "only letters, digits, '-' and '_' are allowed in labels";
		}
	}
	if (!why)
		return 0;
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "invalid domain name '%s' (%s)", q, why);
	return -FG_ESYNTAX;
}

int fg_check_id(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	size_t i;

	/* ids end up in metric labels, JSON events and fluxctl arguments:
	 * keep them to characters that need no quoting anywhere */
	for (i = 0; s[i]; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			break;
	if (i > 0 && i <= 64 && s[i] == '\0')
		return 0;
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "invalid id '%s' (use 1 to 64 letters, digits, "
		 "'-', '_' or '.')", q);
	return -FG_ESYNTAX;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int fg_check_abspath(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];

	/* the daemon changes directory to / once started, so a relative path
	 * would silently point somewhere else; a control character (say a
	 * newline from a YAML block scalar) is never meant */
	if (s[0] == '/' && strlen(s) < 4096 && !has_control(s))
		return 0;
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "expected an absolute path, got '%s'", q);
	return -FG_ESYNTAX;
}

int fg_check_nsid(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	size_t i;

	/* printable ASCII, so that dig/kdig show it as written and a log line
	 * cannot be forged through it; 128 octets keep the OPT small */
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
			break;
	if (i > 0 && i <= 128 && s[i] == '\0')
		return 0;
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "nsid must be 1 to 128 printable ASCII characters, got '%s'", q);
	return -FG_ESYNTAX;
}

int fg_check_user(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	size_t i;

	/* what getpwnam() can match: no blanks, no ':' (the passwd field
	 * separator), no '/'; 32 is the usual login name limit */
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == ':' ||
		    s[i] == '/')
			break;
	if (i > 0 && i <= 32 && s[i] == '\0')
		return 0;
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "invalid user name '%s'", q);
	return -FG_ESYNTAX;
}

int fg_check_group(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];

	/* what getgrnam() can match: the same rules as a user name */
	if (fg_check_user(s, err, errlen) == 0)
		return 0;
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "invalid group name '%s'", q);
	return -FG_ESYNTAX;
}

int fg_check_sockpath(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	int rc = fg_check_abspath(s, err, errlen);

	if (rc < 0)
		return rc;
	if (strlen(s) <= max)
		return 0;
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "path '%s' is too long for a UNIX socket (at most "
		 "%zu bytes)", q, max);
	return -ERANGE;
}

int fg_check_nft_name(const char *s, char *err, size_t errlen)
{
	char q[4 * FG_QUOTE_MAX + 4];
	size_t i;

	/* the nft(8) identifier syntax, so the operator can type
	 * `nft list table inet <name>` without quoting */
	for (i = 0; s[i]; i++)
		if (!is_alpha(s[i]) && s[i] != '_' && !(i > 0 && is_digit(s[i])))
			break;
	if (i > 0 && i <= FG_CONF_NFT_NAME_MAX && s[i] == '\0')
		return 0;
	fg_quote(s, q, sizeof(q));
	snprintf(err, errlen, "invalid nftables table name '%s' (use 1 to %d "
		 "letters, digits or '_', not starting with a digit)", q, FG_CONF_NFT_NAME_MAX);
	return -FG_ESYNTAX;
}

void fg_dname_canon(const char *s, char out[256])
{
	size_t n = 0;

	for (; s[n] && n < 255; n++)
		out[n] = (s[n] >= 'A' && s[n] <= 'Z') ? (char)(s[n] - 'A' + 'a') : s[n];
	if (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
}

bool fg_dname_inside(const char *name, const char *zone)
{
	size_t nl = strlen(name), zl = strlen(zone);

	if (zl == 0)
		return true;  /* the root contains every name */
	if (nl < zl || strcmp(name + nl - zl, zone) != 0)
		return false;
	return nl == zl || name[nl - zl - 1] == '.';
}
