/* SPDX-License-Identifier: MIT */
/*
 * massagectl-table.h - the column tables of the list verbs
 */
#ifndef MASSAGECTL_TABLE_H
#define MASSAGECTL_TABLE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct table;

/* @header: the column titles, NULL-terminated. */
struct table *table_new(const char *const *header);
/* One cell per column; NULL cells print empty. */
int table_add_row(struct table *t, const char *const *cells);
/* Rows below the header. */
size_t table_rows(const struct table *t);
void table_print(const struct table *t, FILE *f, bool header);
struct table *table_free(struct table *t);

static inline void table_freep(struct table **t)
{
	*t = table_free(*t);
}

#endif
