// SPDX-License-Identifier: MIT
/*
 * A program drives a motor against someone's body: the parser must take
 * every shipped program, and refuse anything unsafe or unclear with the
 * exact line and a message a person can act on.  Each bad case below pins
 * the message down to the byte.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "program.h"

#define HEAD "[Program]\nName=Test\nSource=Test source\n"
#define STEP "[Step]\nSite=upper trapezius, left\nTechnique=vibration\n" \
	     "Frequency=45Hz\nIntensity=50%\nDuration=30s\n"

static struct program prog;

static int parse(const char *text, struct program_error *e)
{
	struct safety_limits l;

	safety_limits_default(&l);
	return program_parse(&prog, text, strlen(text), "t.program", &l, e);
}

/* Parse @text, expect @error and exactly @message. */
static void expect_refused(const char *text, int error, const char *message)
{
	struct program_error e;

	assert_int_equal(parse(text, &e), error);
	assert_int_equal(e.error, error);
	assert_string_equal(e.message, message);
}

static void test_minimal_program_parses_with_defaults(void **state)
{
	struct program_error e;
	const struct program_step *st = &prog.steps[0];

	(void)state;
	assert_int_equal(parse(HEAD STEP, &e), 0);
	assert_string_equal(prog.title, "Test");
	assert_string_equal(prog.source, "Test source");
	assert_int_equal(prog.n_steps, 1);
	assert_string_equal(st->site, "upper trapezius, left");
	assert_int_equal(st->technique, PROGRAM_TECHNIQUE_VIBRATION);
	assert_int_equal(st->freq_mhz, 45000);
	assert_int_equal(st->intensity_permille, 500);
	assert_int_equal(st->amplitude_mms2, 0);
	assert_int_equal(st->duration_ms, 30000);
	assert_int_equal(st->repetitions, 1);
	assert_int_equal(st->rest_ms, 0);
	assert_int_equal(st->advance, PROGRAM_ADVANCE_CONFIRM);
	assert_int_equal(st->line, 4);
	assert_int_equal(prog.total_vibration_ms, 30000);
}

static void test_all_keys_parse(void **state)
{
	const struct program_step *st = &prog.steps[0];

	(void)state;
	assert_int_equal(
		parse("# comment\n; other comment\n\n"
		      "[Program]\n  Name = Neck  \nDescription=d\nSource=s\n"
		      "MaxSessionMinutes=15\n"
		      "[Step]\nSite=levator scapulae, right\n"
		      "Technique=compression\nFrequency=47.5 Hz\n"
		      "Amplitude=12.25 m/s^2\nDuration=1min 30s\n"
		      "Repetitions=3\nRest=10s\nAdvance=pause\n"
		      "AdvancePause=1.5s\n",
		      NULL),
		0);
	assert_string_equal(prog.title, "Neck");
	assert_int_equal(prog.max_session_ms, 15 * 60000);
	assert_int_equal(st->technique, PROGRAM_TECHNIQUE_COMPRESSION);
	assert_int_equal(st->freq_mhz, 47500);
	assert_int_equal(st->amplitude_mms2, 12250);
	assert_int_equal(st->intensity_permille, 0);
	assert_int_equal(st->duration_ms, 90000);
	assert_int_equal(st->repetitions, 3);
	assert_int_equal(st->rest_ms, 10000);
	assert_int_equal(st->advance, PROGRAM_ADVANCE_PAUSE);
	assert_int_equal(st->advance_pause_ms, 1500);
	assert_int_equal(prog.total_vibration_ms, 270000);
	assert_int_equal(program_step_scheduled_ms(st, false),
			 270000 + 20000 + 1500);
	assert_int_equal(program_step_scheduled_ms(st, true), 270000 + 20000);
}

static void test_crlf_line_ends_are_accepted(void **state)
{
	(void)state;
	assert_int_equal(parse("[Program]\r\nName=Test\r\nSource=s\r\n"
			       "[Step]\r\nSite=a\r\nTechnique=vibration\r\n"
			       "Frequency=45\r\nIntensity=50\r\n"
			       "Duration=30\r\n",
			       NULL),
			 0);
	assert_string_equal(prog.title, "Test");
	assert_int_equal(prog.steps[0].duration_ms, 30000);
}

static void test_utf8_byte_order_mark_is_skipped(void **state)
{
	(void)state;
	assert_int_equal(parse("\xef\xbb\xbf" HEAD STEP, NULL), 0);
	/* Only at the start of the file. */
	expect_refused(HEAD "\xef\xbb\xbf" STEP, -EINVAL,
		       "t.program:4: expected Key=Value, [Program] or [Step]");
}

static void test_timespans_in_systemd_style(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} good[] = {
		{ "30s", 30000 },	   { "1min 30s", 90000 },
		{ "90", 90000 },	   { "1.5min", 90000 },
		{ "500ms", 500 },	   { "2 minutes", 120000 },
		{ "1h", 3600000 },	   { "1min30s", 90000 },
		{ " 5 sec ", 5000 },	   { "0.001s", 1 },
	};
	static const char *const bad[] = { "", "s", "30x", "-5s", "1..5s",
					   "5s garbage", "1,5s",
					   "1 2", "1.s" };
	uint64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		assert_int_equal(program_parse_timespan_ms(good[i].s, &ms), 0);
		assert_int_equal(ms, good[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(program_parse_timespan_ms(bad[i], &ms),
				 -EINVAL);
	assert_int_equal(program_parse_timespan_ms("99999999999999999999s",
						   &ms),
			 -ERANGE);
	assert_int_equal(program_parse_timespan_ms("18446744073709551s", &ms),
			 -ERANGE);
}

static void test_frequencies_with_and_without_unit(void **state)
{
	uint32_t mhz;

	(void)state;
	assert_int_equal(program_parse_freq_mhz("45", &mhz), 0);
	assert_int_equal(mhz, 45000);
	assert_int_equal(program_parse_freq_mhz("45Hz", &mhz), 0);
	assert_int_equal(mhz, 45000);
	assert_int_equal(program_parse_freq_mhz("47.125 hz", &mhz), 0);
	assert_int_equal(mhz, 47125);
	assert_int_equal(program_parse_freq_mhz("45kHz", &mhz), -EINVAL);
	assert_int_equal(program_parse_freq_mhz("4294968", &mhz), -ERANGE);
}

static void test_frequency_in_contraction_band_is_refused(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nSite=a\nTechnique=vibration\n"
			    "Frequency=120Hz\n",
		       -ERANGE,
		       "t.program:7: Frequency=120Hz: in the 100-200 Hz contraction band (the muscle contracts); therapy runs at 20-60 Hz");
}

static void test_frequency_above_80_hz_is_refused(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nFrequency=85\n", -ERANGE,
		       "t.program:5: Frequency=85: above the absolute 80 Hz limit; therapy runs at 20-60 Hz");
}

static void test_frequency_outside_station_band_is_refused(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nFrequency=65\n", -ERANGE,
		       "t.program:5: Frequency=65: above this station's band of 20-60 Hz");
	expect_refused(HEAD "[Step]\nFrequency=12.5\n", -ERANGE,
		       "t.program:5: Frequency=12.5: below this station's band of 20-60 Hz");
}

static void test_malformed_frequencies_are_refused(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nFrequency=fast\n", -EINVAL,
		       "t.program:5: Frequency=fast: not a frequency; write e.g. 45Hz or 47.5");
	expect_refused(HEAD "[Step]\nFrequency=45.0001\n", -EINVAL,
		       "t.program:5: Frequency=45.0001: more than 3 decimal places");
	expect_refused(HEAD "[Step]\nFrequency=99999999999999999999999\n",
		       -ERANGE,
		       "t.program:5: Frequency=99999999999999999999999: number too large");
	expect_refused(HEAD "[Step]\nFrequency=5000000\n", -ERANGE,
		       "t.program:5: Frequency=5000000: number too large");
}

static void test_intensity_and_amplitude_limits(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nIntensity=0%\n", -ERANGE,
		       "t.program:5: Intensity=0%: out of range; intensity is above 0% and at most 100%");
	expect_refused(HEAD "[Step]\nIntensity=101%\n", -ERANGE,
		       "t.program:5: Intensity=101%: out of range; intensity is above 0% and at most 100%");
	expect_refused(HEAD "[Step]\nIntensity=50.55\n", -EINVAL,
		       "t.program:5: Intensity=50.55: more than 1 decimal place");
	expect_refused(HEAD "[Step]\nAmplitude=150\n", -ERANGE,
		       "t.program:5: Amplitude=150: out of range; amplitude is above 0 and at most 100 m/s^2 RMS");
	expect_refused(HEAD "[Step]\nAmplitude=2g\n", -EINVAL,
		       "t.program:5: Amplitude=2g: not an acceleration; write e.g. 12.5m/s^2 (RMS)");
}

static void test_intensity_above_station_limit_is_refused(void **state)
{
	struct safety_limits l;
	struct program_error e;
	const char *t = HEAD "[Step]\nIntensity=80%\n";

	(void)state;
	safety_limits_default(&l);
	l.max_intensity_permille = 600;
	assert_int_equal(program_parse(&prog, t, strlen(t), "t.program", &l,
				       &e),
			 -ERANGE);
	assert_string_equal(e.message,
			    "t.program:5: Intensity=80%: above this station's limit of 60.0%");
}

static void test_intensity_and_amplitude_together_are_refused(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nIntensity=50\nAmplitude=10\n", -EINVAL,
		       "t.program:6: Amplitude=10: Intensity= already set on line 5; give Intensity= or Amplitude=, not both");
	expect_refused(HEAD "[Step]\nAmplitude=10\nIntensity=50\n", -EINVAL,
		       "t.program:6: Intensity=50: Amplitude= already set on line 5; give Intensity= or Amplitude=, not both");
}

static void test_durations_against_safety_limits(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nDuration=16min\n", -ERANGE,
		       "t.program:5: Duration=16min: longer than the 15min of continuous vibration this station allows on one site");
	expect_refused(HEAD "[Step]\nDuration=0s\n", -ERANGE,
		       "t.program:5: Duration=0s: a step must last longer than 0s");
	expect_refused(HEAD "[Step]\nDuration=soon\n", -EINVAL,
		       "t.program:5: Duration=soon: not a time span; write e.g. 30s, 1min 30s or 90 (seconds)");
	expect_refused(HEAD "[Step]\nDuration=99999999999999999999\n", -ERANGE,
		       "t.program:5: Duration=99999999999999999999: number too large");
	expect_refused(HEAD "[Step]\nRest=11min\n", -ERANGE,
		       "t.program:5: Rest=11min: longer than 10min");
}

static void test_repetitions_on_one_site_are_capped(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nSite=a\nTechnique=vibration\n"
			    "Frequency=45\nIntensity=50\nDuration=4min\n"
			    "Repetitions=4\n",
		       -ERANGE,
		       "t.program:10: [Step]: 4 repetitions vibrate 16min on one site, more than the 15min this station allows");
	expect_refused(HEAD "[Step]\nRepetitions=0\n", -ERANGE,
		       "t.program:5: Repetitions=0: out of range 1-100");
	expect_refused(HEAD "[Step]\nRepetitions=2.5\n", -EINVAL,
		       "t.program:5: Repetitions=2.5: not a whole number");
}

static void test_session_total_is_capped(void **state)
{
	char text[4096];
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "%s", HEAD);
	for (int i = 0; i < 5; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[Step]\nSite=a\nTechnique=vibration\n"
				      "Frequency=45\nIntensity=50\n"
				      "Duration=13min\n");
	/* The fifth step, on line 4 + 4 * 6, reaches 65 min. */
	expect_refused(text, -ERANGE,
		       "t.program:28: [Step]: the program's vibration time reaches 65min, more than the 60min this station allows in one session");

	expect_refused("[Program]\nName=T\nSource=s\nMaxSessionMinutes=10\n"
		       STEP STEP "[Step]\nSite=a\nTechnique=vibration\n"
		       "Frequency=45\nIntensity=50\nDuration=10min\n",
		       -ERANGE,
		       "t.program:17: [Step]: the program's vibration time reaches 11min, more than the 10min MaxSessionMinutes= allows");
	expect_refused("[Program]\nName=T\nSource=s\nMaxSessionMinutes=61\n",
		       -ERANGE,
		       "t.program:4: MaxSessionMinutes=61: longer than this station's session limit of 60min");
}

static void test_unknown_sections_and_keys_are_errors(void **state)
{
	(void)state;
	expect_refused(HEAD "[Steps]\n", -EINVAL,
		       "t.program:4: [Steps]: unknown section; expected [Program] or [Step]");
	expect_refused(HEAD "[Step]\nFrequenzy=45\n", -EINVAL,
		       "t.program:5: Frequenzy=45: unknown key in [Step]");
	expect_refused(HEAD "[Step]\nfrequency=45\n", -EINVAL,
		       "t.program:5: frequency=45: unknown key in [Step]; did you mean Frequency=?");
	expect_refused(HEAD "[Step]\nName=x\n", -EINVAL,
		       "t.program:5: Name=x: belongs in [Program], not in [Step]");
	expect_refused("Name=x\n", -EINVAL,
		       "t.program:1: Name=x: outside of any section; the file starts with [Program]");
	expect_refused(HEAD "just words\n", -EINVAL,
		       "t.program:4: expected Key=Value, [Program] or [Step]");
	expect_refused(HEAD "[Step\n", -EINVAL,
		       "t.program:4: a section header must end with ']'");
	expect_refused(HEAD "Na me=x\n", -EINVAL,
		       "t.program:4: expected Key=Value with a key of letters and digits");
	expect_refused(HEAD "[Step]\nTechnique=tapping\n", -EINVAL,
		       "t.program:5: Technique=tapping: unknown technique; expected vibration, pressure, stripping or compression");
	expect_refused(HEAD "[Step]\nAdvance=later\n", -EINVAL,
		       "t.program:5: Advance=later: expected button, client, confirm (button or client) or pause");
}

static void test_duplicate_keys_and_sections_are_errors(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nSite=a\nSite=b\n", -EINVAL,
		       "t.program:6: Site=b: Site= already set on line 5");
	expect_refused(HEAD "[Program]\n", -EINVAL,
		       "t.program:4: [Program] already given on line 1");
	expect_refused("[Step]\n", -EINVAL,
		       "t.program:1: [Step] before [Program]; the file starts with [Program]");
}

static void test_empty_values_and_missing_keys_are_errors(void **state)
{
	(void)state;
	expect_refused(HEAD "[Step]\nSite=\n", -EINVAL,
		       "t.program:5: Site=: empty value");
	expect_refused(HEAD "[Step]\nSite=a\n", -EINVAL,
		       "t.program:4: [Step]: missing Technique=");
	expect_refused(HEAD "[Step]\nSite=a\nTechnique=vibration\n"
			    "Frequency=45\nDuration=30s\n",
		       -EINVAL,
		       "t.program:4: [Step]: missing Intensity= or Amplitude=");
	expect_refused("[Program]\nName=x\n" STEP, -EINVAL,
		       "t.program:1: [Program]: missing Source=; cite where the protocol comes from");
	expect_refused("[Program]\nSource=x\n", -EINVAL,
		       "t.program:1: [Program]: missing Name=");
	expect_refused(HEAD, -EINVAL,
		       "t.program: no [Step] section; a program needs at least one step");
	expect_refused("# nothing\n", -EINVAL,
		       "t.program: no [Program] section; a program starts with [Program] and Name=");
	expect_refused(HEAD STEP "Advance=pause\n", -EINVAL,
		       "t.program:4: [Step]: Advance=pause needs AdvancePause=");
	expect_refused(HEAD STEP "AdvancePause=5s\n", -EINVAL,
		       "t.program:10: AdvancePause= only applies with Advance=pause");
	expect_refused(HEAD STEP "Advance=pause\nAdvancePause=0\n", -ERANGE,
		       "t.program:11: AdvancePause=0: must be longer than 0s; use Advance=confirm to wait for the person");
}

static void test_more_than_64_steps_is_refused(void **state)
{
	static char text[64 * 1024];
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "%s", HEAD);
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[Step]\nSite=a\nTechnique=vibration\n"
				      "Frequency=45\nIntensity=50\n"
				      "Duration=1s\n");
	expect_refused(text, -E2BIG,
		       "t.program:388: more than 64 steps");
}

static void test_nul_bytes_and_binary_are_refused(void **state)
{
	static const char text[] = "[Program]\nName=a\0b\n";
	struct safety_limits l;
	struct program_error e;

	(void)state;
	safety_limits_default(&l);
	assert_int_equal(program_parse(&prog, text, sizeof(text) - 1,
				       "t.program", &l, &e),
			 -EINVAL);
	assert_string_equal(e.message,
			    "t.program:2: contains a NUL byte; not a text file");
	assert_int_equal(e.line, 2);

	expect_refused(HEAD "[Step]\nSite=a\x01\n", -EINVAL,
		       "t.program:5: Site=: the value contains a control character");
	expect_refused(HEAD "[Step]\nSite=a\xff\n", -EINVAL,
		       "t.program:5: Site=: the value is not valid UTF-8");
	expect_refused(HEAD "[Step]\nSite=a\xc0\xaf\n", -EINVAL,
		       "t.program:5: Site=: the value is not valid UTF-8");
	/* Valid UTF-8 is fine. */
	assert_int_equal(parse(HEAD "[Step]\nSite=M. trap\xc3\xa8zius\n"
				    "Technique=vibration\nFrequency=45\n"
				    "Intensity=50\nDuration=30\n",
			       NULL),
			 0);
}

static void test_oversized_input_is_refused(void **state)
{
	static char big[PROGRAM_MAX_FILE_SIZE + 1];
	char line[3000];
	struct safety_limits l;
	struct program_error e;

	(void)state;
	safety_limits_default(&l);
	memset(big, '#', sizeof(big));
	assert_int_equal(program_parse(&prog, big, sizeof(big), "t.program",
				       &l, &e),
			 -EFBIG);
	assert_string_equal(e.message,
			    "t.program: larger than 65536 bytes; not a program");

	memset(line, 'x', sizeof(line));
	memcpy(line, "Name=", 5);
	line[sizeof(line) - 1] = '\0';
	snprintf(big, sizeof(big), "[Program]\n%s\n", line);
	expect_refused(big, -E2BIG, "t.program:2: line longer than 2047 bytes");

	memset(line, 'x', 200);
	memcpy(line, "Site=", 5);
	line[200] = '\0';
	snprintf(big, sizeof(big), HEAD "[Step]\n%s\n", line);
	expect_refused(big, -E2BIG,
		       "t.program:5: Site=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...: longer than 127 bytes");
}

static void test_program_names_from_paths(void **state)
{
	char name[PROGRAM_NAME_MAX + 1];

	(void)state;
	assert_int_equal(program_name_from_path(
				 "/usr/share/massaged/programs/neck-set.program",
				 name, sizeof(name)),
			 0);
	assert_string_equal(name, "neck-set");
	assert_int_equal(program_name_from_path("a1.program", name,
						sizeof(name)),
			 0);
	assert_string_equal(name, "a1");
	assert_int_equal(program_name_from_path("/x/Neck.program", name,
						sizeof(name)),
			 -EINVAL);
	assert_int_equal(program_name_from_path("/x/neck.conf", name,
						sizeof(name)),
			 -EINVAL);
	assert_int_equal(program_name_from_path("/x/.program", name,
						sizeof(name)),
			 -EINVAL);
	assert_int_equal(program_name_from_path("/x/-a.program", name,
						sizeof(name)),
			 -EINVAL);
	assert_int_equal(program_name_from_path("neck-set.program", name, 4),
			 -ENOBUFS);

	assert_true(program_name_is_valid("low-back-set"));
	assert_false(program_name_is_valid(""));
	assert_false(program_name_is_valid("a_b"));
	assert_false(program_name_is_valid("a/b"));
	assert_false(program_name_is_valid("a.b"));
}

/* The shipped programs are the seed corpus: all must parse clean. */
static void test_every_shipped_program_parses(void **state)
{
	static char buf[PROGRAM_MAX_FILE_SIZE + 1];
	char dir[512], path[1024], name[PROGRAM_NAME_MAX + 1];
	const char *top = __FILE__, *cut = strstr(top, "tests/unit/");
	struct safety_limits l;
	struct dirent *de;
	unsigned int count = 0;
	DIR *d;

	(void)state;
	safety_limits_default(&l);
	snprintf(dir, sizeof(dir), "%.*sprograms", (int)(cut - top), top);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		struct program_error e;
		size_t n;
		FILE *f;

		if (program_name_from_path(de->d_name, name, sizeof(name)) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "re");
		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (program_parse(&prog, buf, n, de->d_name, &l, &e) < 0)
			fail_msg("%s", e.message);
		assert_true(prog.n_steps > 0);
		assert_true(prog.description[0] != '\0');
		count++;
	}
	closedir(d);
	assert_true(count >= 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_program_parses_with_defaults),
		cmocka_unit_test(test_all_keys_parse),
		cmocka_unit_test(test_crlf_line_ends_are_accepted),
		cmocka_unit_test(test_utf8_byte_order_mark_is_skipped),
		cmocka_unit_test(test_timespans_in_systemd_style),
		cmocka_unit_test(test_frequencies_with_and_without_unit),
		cmocka_unit_test(test_frequency_in_contraction_band_is_refused),
		cmocka_unit_test(test_frequency_above_80_hz_is_refused),
		cmocka_unit_test(test_frequency_outside_station_band_is_refused),
		cmocka_unit_test(test_malformed_frequencies_are_refused),
		cmocka_unit_test(test_intensity_and_amplitude_limits),
		cmocka_unit_test(test_intensity_above_station_limit_is_refused),
		cmocka_unit_test(test_intensity_and_amplitude_together_are_refused),
		cmocka_unit_test(test_durations_against_safety_limits),
		cmocka_unit_test(test_repetitions_on_one_site_are_capped),
		cmocka_unit_test(test_session_total_is_capped),
		cmocka_unit_test(test_unknown_sections_and_keys_are_errors),
		cmocka_unit_test(test_duplicate_keys_and_sections_are_errors),
		cmocka_unit_test(test_empty_values_and_missing_keys_are_errors),
		cmocka_unit_test(test_more_than_64_steps_is_refused),
		cmocka_unit_test(test_nul_bytes_and_binary_are_refused),
		cmocka_unit_test(test_oversized_input_is_refused),
		cmocka_unit_test(test_program_names_from_paths),
		cmocka_unit_test(test_every_shipped_program_parses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
