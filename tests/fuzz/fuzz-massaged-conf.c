// SPDX-License-Identifier: MIT
/*
 * fuzz-massaged-conf.c - libFuzzer target for the massaged.conf parser:
 * any input is either refused or yields a configuration that passes the
 * safety limits' own validation.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "massaged-conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct massaged_config c;
	const char *field;
	char *text;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	log_set_max_level(-1);
	massaged_config_default(&c);
	if (massaged_config_parse_string(&c, "fuzz", text) == 0 &&
	    safety_limits_validate(&c.limits, &field) != 0)
		abort();
	free(text);
	return 0;
}
