// SPDX-License-Identifier: MIT
/*
 * massagectl-table.c - the column tables of the list verbs: a header,
 * rows of strings, columns as wide as their widest cell
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "massagectl-table.h"

#define TABLE_MAX_COLUMNS 12

struct table {
	size_t columns;
	size_t rows; /* including the header */
	char **cells;
};

struct table *table_new(const char *const *header)
{
	struct table *t;
	size_t n = 0;

	while (header[n])
		n++;
	if (n == 0 || n > TABLE_MAX_COLUMNS)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->columns = n;
	if (table_add_row(t, header) < 0)
		return table_free(t);
	return t;
}

int table_add_row(struct table *t, const char *const *cells)
{
	char **more;

	more = realloc(t->cells, (t->rows + 1) * t->columns * sizeof(char *));
	if (!more)
		return -ENOMEM;
	t->cells = more;
	for (size_t i = 0; i < t->columns; i++) {
		char *c = strdup(cells[i] ? cells[i] : "");

		if (!c) {
			while (i-- > 0)
				free(t->cells[t->rows * t->columns + i]);
			return -ENOMEM;
		}
		t->cells[t->rows * t->columns + i] = c;
	}
	t->rows++;
	return 0;
}

size_t table_rows(const struct table *t)
{
	return t->rows - 1;
}

/* Display width: count UTF-8 lead bytes, not bytes. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void table_print(const struct table *t, FILE *f, bool header)
{
	size_t width[TABLE_MAX_COLUMNS] = { 0 };

	for (size_t r = header ? 0 : 1; r < t->rows; r++)
		for (size_t c = 0; c < t->columns; c++) {
			size_t w = text_width(t->cells[r * t->columns + c]);

			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = header ? 0 : 1; r < t->rows; r++) {
		for (size_t c = 0; c < t->columns; c++) {
			const char *s = t->cells[r * t->columns + c];

			if (c + 1 == t->columns) {
				fprintf(f, "%s\n", s);
				break;
			}
			fprintf(f, "%s%*s ", s, (int)(width[c] - text_width(s)),
				"");
		}
	}
}

struct table *table_free(struct table *t)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->rows * t->columns; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
	return NULL;
}
