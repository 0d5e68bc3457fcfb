/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab report, distributed mode (report_dist.c): each does nothing in
 * standalone mode (r->dist NULL).
 */
#ifndef FG_FLUXLAB_REPORT_DIST_H
#define FG_FLUXLAB_REPORT_DIST_H

#include <jansson.h>
#include <stdio.h>

#include "fluxlab/lab.h"

/* root.dist: shares, answers per second, the kill and failover figures */
void report_dist_json(lab_run_t *r, json_t *root);
void report_dist_summary(lab_run_t *r, FILE *f);
/* the distributed expectations, one line each into f (may be NULL);
 * returns how many failed */
int report_dist_check(lab_run_t *r, FILE *f);

#endif
