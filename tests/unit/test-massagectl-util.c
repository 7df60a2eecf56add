// SPDX-License-Identifier: MIT
/*
 * massagectl refuses a bad argument before it calls the daemon, so its
 * parsers decide what reaches the motor: these tests pin down what they
 * accept and what they refuse, and how times are shown back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "massagectl-util.h"

#define S USEC_PER_SEC_

static void timespans_take_systemd_units_and_bare_seconds(void **state)
{
	uint64_t u;

	(void)state;
	assert_int_equal(parse_timespan_usec("30s", &u), 0);
	assert_int_equal(u, 30 * S);
	assert_int_equal(parse_timespan_usec("1min", &u), 0);
	assert_int_equal(u, 60 * S);
	assert_int_equal(parse_timespan_usec("1min 30s", &u), 0);
	assert_int_equal(u, 90 * S);
	assert_int_equal(parse_timespan_usec("1min30s", &u), 0);
	assert_int_equal(u, 90 * S);
	assert_int_equal(parse_timespan_usec("90", &u), 0);
	assert_int_equal(u, 90 * S);
	assert_int_equal(parse_timespan_usec("500ms", &u), 0);
	assert_int_equal(u, 500000);
	assert_int_equal(parse_timespan_usec("1.5h", &u), 0);
	assert_int_equal(u, 5400 * S);
	assert_int_equal(parse_timespan_usec("0", &u), 0);
	assert_int_equal(u, 0);
}

static void timespans_refuse_garbage_signs_and_unknown_units(void **state)
{
	uint64_t u = 7;

	(void)state;
	assert_int_equal(parse_timespan_usec("", &u), -EINVAL);
	assert_int_equal(parse_timespan_usec("-5s", &u), -EINVAL);
	assert_int_equal(parse_timespan_usec("5 parsecs", &u), -EINVAL);
	assert_int_equal(parse_timespan_usec("1min 30", &u), -EINVAL);
	assert_int_equal(parse_timespan_usec("inf", &u), -EINVAL);
	assert_int_equal(parse_timespan_usec("nan", &u), -EINVAL);
	assert_int_equal(parse_timespan_usec("0x10s", &u), -EINVAL);
	assert_int_equal(parse_timespan_usec("99999999999999999999w", &u),
			 -ERANGE);
	assert_int_equal(u, 7);
}

static void frequencies_take_hz_and_leave_the_band_to_the_daemon(void **state)
{
	double hz;

	(void)state;
	assert_int_equal(parse_frequency_hz("45", &hz), 0);
	assert_true(hz == 45.0);
	assert_int_equal(parse_frequency_hz("45.5Hz", &hz), 0);
	assert_true(hz == 45.5);
	assert_int_equal(parse_frequency_hz("45 hz", &hz), 0);
	/* 120 Hz is the daemon's to refuse, with its reason. */
	assert_int_equal(parse_frequency_hz("120", &hz), 0);
	assert_int_equal(parse_frequency_hz("0", &hz), -ERANGE);
	assert_int_equal(parse_frequency_hz("-45", &hz), -EINVAL);
	assert_int_equal(parse_frequency_hz("nan", &hz), -EINVAL);
	assert_int_equal(parse_frequency_hz("45kHz", &hz), -EINVAL);
	assert_int_equal(parse_frequency_hz("1e999", &hz), -ERANGE);
}

static void intensity_is_per_mille_or_percent_up_to_full(void **state)
{
	uint32_t v;

	(void)state;
	assert_int_equal(parse_intensity_permille("600", &v), 0);
	assert_int_equal(v, 600);
	assert_int_equal(parse_intensity_permille("60%", &v), 0);
	assert_int_equal(v, 600);
	assert_int_equal(parse_intensity_permille("1000", &v), 0);
	assert_int_equal(parse_intensity_permille("1001", &v), -ERANGE);
	assert_int_equal(parse_intensity_permille("101%", &v), -ERANGE);
	assert_int_equal(parse_intensity_permille("%", &v), -EINVAL);
	assert_int_equal(parse_intensity_permille("-1", &v), -EINVAL);
	assert_int_equal(parse_intensity_permille("6O0", &v), -EINVAL);
}

static void pain_scores_are_0_to_10_and_ids_above_0(void **state)
{
	uint32_t p;
	uint64_t id;

	(void)state;
	assert_int_equal(parse_pain_score("0", &p), 0);
	assert_int_equal(parse_pain_score("10", &p), 0);
	assert_int_equal(p, 10);
	assert_int_equal(parse_pain_score("11", &p), -ERANGE);
	assert_int_equal(parse_pain_score("3.5", &p), -EINVAL);
	assert_int_equal(parse_id("42", &id), 0);
	assert_int_equal(id, 42);
	assert_int_equal(parse_id("0", &id), -ERANGE);
	assert_int_equal(parse_id("+4", &id), -EINVAL);
	assert_int_equal(parse_id("4x", &id), -EINVAL);
	assert_int_equal(parse_id("99999999999999999999999", &id), -ERANGE);
}

static void plan_times_are_hh_mm_or_a_local_date_and_time(void **state)
{
	char when[32], tod[6];

	(void)state;
	assert_int_equal(parse_time_of_day("9:05", tod), 0);
	assert_string_equal(tod, "09:05");
	assert_int_equal(parse_time_of_day("24:00", tod), -ERANGE);
	assert_int_equal(parse_time_of_day("12:60", tod), -ERANGE);
	assert_int_equal(parse_time_of_day("12:5", tod), -EINVAL);
	assert_int_equal(parse_time_of_day("12: 5", tod), -EINVAL);
	assert_int_equal(parse_time_of_day("123:00", tod), -EINVAL);
	assert_int_equal(parse_plan_when("07:30", when, sizeof(when)), 0);
	assert_string_equal(when, "07:30");
	assert_int_equal(parse_plan_when("2026-11-23 07:30", when, sizeof(when)),
			 0);
	assert_string_equal(when, "1795419000000000");
	assert_int_equal(parse_plan_when("2026-02-31 07:30", when, sizeof(when)),
			 -ERANGE);
	assert_int_equal(parse_plan_when("tomorrow", when, sizeof(when)),
			 -EINVAL);
}

static void since_takes_dates_words_and_spans_back(void **state)
{
	const uint64_t now = 1795419000000000ull; /* 2026-11-23 07:30 UTC */
	uint64_t u;

	(void)state;
	assert_int_equal(parse_since_usec("2026-11-23", now, &u), 0);
	assert_int_equal(u, now - (7 * 3600 + 1800) * S);
	assert_int_equal(parse_since_usec("today", now, &u), 0);
	assert_int_equal(u, now - (7 * 3600 + 1800) * S);
	assert_int_equal(parse_since_usec("yesterday", now, &u), 0);
	assert_int_equal(u, now - (31 * 3600 + 1800) * S);
	assert_int_equal(parse_since_usec("-7d", now, &u), 0);
	assert_int_equal(u, now - 7 * USEC_PER_DAY);
	assert_int_equal(parse_since_usec("2h ago", now, &u), 0);
	assert_int_equal(u, now - 2 * USEC_PER_HOUR);
	assert_int_equal(parse_since_usec("-2h ago", now, &u), -EINVAL);
	assert_int_equal(parse_since_usec("last week", now, &u), -EINVAL);
}

static void timespans_and_timestamps_read_as_a_person_writes_them(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(format_timespan(buf, sizeof(buf), 0), "0");
	assert_string_equal(format_timespan(buf, sizeof(buf), 90 * S),
			    "1min 30s");
	assert_string_equal(format_timespan(buf, sizeof(buf), 250000), "250ms");
	assert_string_equal(format_timespan(buf, sizeof(buf), 381096), "381ms");
	assert_string_equal(format_timespan(buf, sizeof(buf), 999), "999us");
	/* Above a second, milliseconds are noise. */
	assert_string_equal(format_timespan(buf, sizeof(buf), 61 * S + 400000),
			    "1min 1s");
	assert_string_equal(format_timespan(buf, sizeof(buf), UINT64_MAX),
			    "infinity");
	assert_string_equal(format_timestamp(buf, sizeof(buf),
					     1795419000000000ull),
			    "2026-11-23 07:30:00");
	assert_string_equal(format_timestamp(buf, sizeof(buf), 0), "-");
}

static void the_bar_counts_steps_done_and_the_part_of_this_one(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(format_progress_bar(buf, sizeof(buf), 0.5, 10),
			    "[#####.....]");
	assert_string_equal(format_progress_bar(buf, sizeof(buf), 2, 4),
			    "[####]");
	assert_string_equal(format_progress_bar(buf, sizeof(buf), -1, 4),
			    "[....]");
	/* A 16-byte buffer holds at most 13 cells. */
	assert_int_equal(strlen(format_progress_bar(buf, 16, 1, 40)), 15);
	assert_true(session_fraction(1, 4, 15 * S, 30 * S) == 0.375);
	assert_true(session_fraction(0, 4, 30 * S, 0) == 0);
	assert_true(session_fraction(0, 0, 0, 0) == 0);
	assert_true(session_fraction(4, 4, 0, 0) == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timespans_take_systemd_units_and_bare_seconds),
		cmocka_unit_test(timespans_refuse_garbage_signs_and_unknown_units),
		cmocka_unit_test(frequencies_take_hz_and_leave_the_band_to_the_daemon),
		cmocka_unit_test(intensity_is_per_mille_or_percent_up_to_full),
		cmocka_unit_test(pain_scores_are_0_to_10_and_ids_above_0),
		cmocka_unit_test(plan_times_are_hh_mm_or_a_local_date_and_time),
		cmocka_unit_test(since_takes_dates_words_and_spans_back),
		cmocka_unit_test(timespans_and_timestamps_read_as_a_person_writes_them),
		cmocka_unit_test(the_bar_counts_steps_done_and_the_part_of_this_one),
	};

	/* Local time is UTC here, so the dates above are exact. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
