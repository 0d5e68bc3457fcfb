/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libyaml event stream -> node tree with line numbers.
 *
 * libyaml's own document loader (yaml_parser_load) is not used: it resolves
 * aliases into shared nodes (a few bytes of "billion laughs" then cost
 * exponential time to walk, and an anchor can even be referenced inside
 * itself) and it does not bound nesting. Building the tree from events lets
 * us refuse aliases and limit depth while keeping every mark.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/err.h"
#include "conf/scalar.h"
#include "conf/schema.h"

static int mark_line0(yaml_mark_t m)
{
	return m.line < (1u << FG_CONF_INC_SHIFT) - 1 ? (int)m.line + 1
						       : (1 << FG_CONF_INC_SHIFT) - 1;
}

/* the line as messages carry it: shifted for an included file */
#define mark_line(m) (mark_line0(m) + ld->line_base)

void fg_ytree_free(fg_ynode_t *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		fg_ytree_free(n->kids[i]);
	free(n->kids);
	free(n->val);
	free(n);
}

static int add_kid(fg_ynode_t *parent, fg_ynode_t *kid)
{
	if (parent->nkids == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		fg_ynode_t **k = realloc(parent->kids, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

static bool is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	/* YAML's null spellings, only when unquoted: "" and '~' are strings */
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int syntax_error(fg_loader_t *ld, const yaml_parser_t *p,
			const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	int line;

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR) {
		/* the reader (encoding) reports a byte offset, not a mark */
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += buf[i] == '\n';
		line += ld->line_base;
	} else {
		line = mark_line(p->problem_mark);
	}
	ld->rc = -FG_ESYNTAX;
	if (p->error != YAML_READER_ERROR && p->context)
		fg_diag(ld, line, "YAML syntax error: %s (%s on line %d)", problem,
			p->context, mark_line(p->context_mark));
	else
		fg_diag(ld, line, "YAML syntax error: %s", problem);
	return -FG_ESYNTAX;
}

/* Node for a scalar/alias/collection start event, or NULL on OOM. */
static fg_ynode_t *node_from_event(fg_loader_t *ld, const yaml_event_t *ev)
{
	fg_ynode_t *n = calloc(1, sizeof(*n));
	int line = mark_line(ev->start_mark);

	if (!n)
		return NULL;
	n->line = line;
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		size_t len = ev->data.scalar.length;
		const void *v = ev->data.scalar.value;
		/* "\0" in a double-quoted scalar would silently cut the C
		 * string the rest of the code sees */
		if (memchr(v, '\0', len)) {
			fg_diag(ld, line, "value contains a NUL character");
			n->kind = FG_Y_BAD;
			break;
		}
		n->kind = FG_Y_SCALAR;
		n->null = is_null(ev);
		n->val = malloc(len + 1);
		if (!n->val) {
			free(n);
			return NULL;
		}
		memcpy(n->val, v, len);
		n->val[len] = '\0';
		break;
	}
	case YAML_SEQUENCE_START_EVENT:
		n->kind = FG_Y_SEQ;
		break;
	case YAML_MAPPING_START_EVENT:
		n->kind = FG_Y_MAP;
		break;
	default: { /* alias */
		char q[4 * FG_QUOTE_MAX + 4];
		fg_quote((const char *)ev->data.alias.anchor, q, sizeof(q));
		fg_diag(ld, line, "YAML aliases (*%s) are not supported", q);
		n->kind = FG_Y_BAD;
		break;
	}
	}
	return n;
}

int fg_ytree_build(fg_loader_t *ld, const char *buf, size_t len, fg_ynode_t **root)
{
	fg_ynode_t *stack[FG_YAML_MAX_DEPTH];
	fg_ynode_t *doc = NULL;
	size_t depth = 0;
	unsigned ndocs = 0;
	bool done = false;
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && rc == 0) {
		fg_ynode_t *n = NULL;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_error(ld, &p, buf, len);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				ld->rc = -FG_ESYNTAX;
				fg_diag(ld, mark_line(ev.start_mark),
					"only one YAML document is allowed");
				rc = -FG_ESYNTAX;
			}
			break;
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			n = node_from_event(ld, &ev);
			if (!n)
				rc = -ENOMEM;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
		if (n) {
			if (depth > 0) {
				if (add_kid(stack[depth - 1], n) < 0) {
					fg_ytree_free(n);
					rc = -ENOMEM;
				}
			} else if (!doc) {
				doc = n;
			} else {
				fg_ytree_free(n);  /* cannot happen in one document */
			}
		}
		if (n && rc == 0 && (n->kind == FG_Y_SEQ || n->kind == FG_Y_MAP)) {
			if (depth == FG_YAML_MAX_DEPTH) {
				ld->rc = -FG_ESYNTAX;
				fg_diag(ld, n->line, "nesting deeper than %d levels",
					FG_YAML_MAX_DEPTH);
				rc = -FG_ESYNTAX;
			} else {
				stack[depth++] = n;
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (rc < 0) {
		fg_ytree_free(doc);
		return rc;
	}
	*root = doc;
	return 0;
}

const fg_ynode_t *fg_ymap_key(const fg_ynode_t *map, const char *key)
{
	if (!map || map->kind != FG_Y_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->nkids; i += 2) {
		const fg_ynode_t *k = map->kids[i];
		if (k->kind == FG_Y_SCALAR && strcmp(k->val, key) == 0)
			return k;
	}
	return NULL;
}

const fg_ynode_t *fg_ymap_get(const fg_ynode_t *map, const char *key)
{
	if (!map || map->kind != FG_Y_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->nkids; i += 2) {
		const fg_ynode_t *k = map->kids[i];
		if (k->kind == FG_Y_SCALAR && strcmp(k->val, key) == 0)
			return map->kids[i + 1];
	}
	return NULL;
}

int fg_ymap_value_line(const fg_ynode_t *map, const char *key, const char *val,
		       unsigned nth)
{
	const fg_ynode_t *k = fg_ymap_key(map, key), *v = fg_ymap_get(map, key);

	if (v && v->kind == FG_Y_SCALAR)
		return v->line;
	for (size_t i = 0; v && v->kind == FG_Y_SEQ && i < v->nkids; i++)
		if (v->kids[i]->kind == FG_Y_SCALAR && val &&
		    strcmp(v->kids[i]->val, val) == 0 && nth-- == 0)
			return v->kids[i]->line;
	return k ? k->line : map ? map->line : 0;
}
