// SPDX-License-Identifier: MIT
/*
 * The treatment history is a clinical record: it must survive a crash
 * with all but the last second, refuse bad input without writing it, and
 * export hostile free text (patient names, sites) without breaking the
 * CSV or the JSON.  Every test runs against a real SQLite database in a
 * fresh temporary directory.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "history.h"
#include "macro.h"

#define T0 1700000000000000ull	/* 2023-11-14 22:13:20 UTC */
#define SEC 1000000ull
#define DAY (86400ull * SEC)

struct fixture {
	char dir[64];
	char path[96];
	struct history *h;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test-history.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/history.db", f->dir);
	assert_int_equal(history_open(&f->h, f->path), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[128];
	size_t i;

	f->h = history_free(f->h);
	for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/garbage", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fixture *f)
{
	f->h = history_free(f->h);
	assert_int_equal(history_open(&f->h, f->path), 0);
}

/* A copy of a listed session that outlives the callback. */
struct session_copy {
	struct history_session s;
	char program[64], title[64], patient[128], outcome[32];
};

static void copy_session(struct session_copy *c,
			 const struct history_session *s)
{
	c->s = *s;
	snprintf(c->program, sizeof(c->program), "%s", s->program);
	snprintf(c->title, sizeof(c->title), "%s", s->program_title);
	snprintf(c->patient, sizeof(c->patient), "%s", s->patient);
	snprintf(c->outcome, sizeof(c->outcome), "%s", s->outcome);
}

static int get_one(const struct history_session *s, void *userdata)
{
	copy_session(userdata, s);
	return 0;
}

static void get_session(struct history *h, uint64_t id,
			struct session_copy *c)
{
	assert_int_equal(history_get_session(h, id, get_one, c), 0);
}

struct session_list {
	unsigned int n;
	uint64_t ids[16];
};

static int collect_ids(const struct history_session *s, void *userdata)
{
	struct session_list *l = userdata;

	assert_true(l->n < 16);
	l->ids[l->n++] = s->id;
	return 0;
}

static uint64_t begin(struct history *h, const char *patient,
		      uint64_t course_id, uint64_t started_usec)
{
	struct history_session_start s = {
		.program = "neck-45hz",
		.program_title = "Neck, 45 Hz",
		.patient = patient,
		.course_id = course_id,
		.started_usec = started_usec,
		.pain_before = -1,
	};
	uint64_t id = 0;

	assert_int_equal(history_session_begin(h, &s, &id), 0);
	assert_true(id > 0);
	return id;
}

static void query_text(const char *path, const char *sql, char *buf,
		       size_t size)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_open_creates_schema_and_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct session_copy c;
	struct stat stb;
	char buf[64];
	uint64_t id;

	query_text(f->path, "PRAGMA user_version", buf, sizeof(buf));
	assert_int_equal(atoi(buf), HISTORY_SCHEMA_VERSION);
	query_text(f->path,
		   "SELECT group_concat(name, ' ') FROM (SELECT name FROM"
		   " sqlite_schema WHERE type = 'table' AND name NOT LIKE"
		   " 'sqlite_%' ORDER BY name)",
		   buf, sizeof(buf));
	assert_string_equal(buf, "courses events plans queue sessions steps");
	/* Patient data: readable by massaged alone. */
	assert_int_equal(stat(f->path, &stb), 0);
	assert_int_equal(stb.st_mode & 0777, 0600);

	/* Bound, never spliced into SQL: stored as typed. */
	id = begin(f->h, "Robert'); DROP TABLE sessions;--", 0, T0);
	reopen(f);
	reopen(f);
	get_session(f->h, id, &c);
	assert_string_equal(c.patient, "Robert'); DROP TABLE sessions;--");
	assert_string_equal(c.outcome, "running");
}

static void test_journal_mode_is_wal(void **state)
{
	struct fixture *f = *state;
	char buf[16];

	/* WAL is a property of the file: another connection sees it too. */
	query_text(f->path, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
}

static void test_open_refuses_a_newer_schema(void **state)
{
	struct fixture *f = *state;
	struct history *h = NULL;
	sqlite3 *db;

	f->h = history_free(f->h);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(history_open(&h, f->path), -EPROTONOSUPPORT);
	assert_null(h);
}

static void test_open_refuses_a_file_that_is_not_a_database(void **state)
{
	struct fixture *f = *state;
	struct history *h = NULL;
	char p[128];
	FILE *g;

	snprintf(p, sizeof(p), "%s/garbage", f->dir);
	g = fopen(p, "w");
	assert_non_null(g);
	for (int i = 0; i < 100; i++)
		fputs("this is not an SQLite database, ", g);
	fclose(g);
	assert_int_equal(history_open(&h, p), -EBADMSG);
	assert_null(h);
	assert_int_equal(history_open(&h, NULL), -EINVAL);
	assert_int_equal(history_open(NULL, p), -EINVAL);
}

static void test_free_accepts_null_and_cleanup_frees(void **state)
{
	struct fixture *f = *state;

	assert_null(history_free(NULL));
	{
		_cleanup_(historyp) struct history *h = NULL;

		assert_int_equal(history_open(&h, f->path), 0);
	}
}

static void test_crash_mid_session_is_marked_interrupted_at_checkpoint(
	void **state)
{
	struct fixture *f = *state;
	struct session_copy c;
	uint64_t running, done;
	unsigned int n = 99;
	pid_t pid;
	int status;

	done = begin(f->h, "B", 0, T0 - DAY);
	assert_int_equal(history_session_end(f->h, done, T0 - DAY + 60 * SEC,
					     "completed", 60 * SEC, 90.0),
			 0);
	f->h = history_free(f->h);

	/* The child writes a session and dies without closing anything. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct history *h;
		uint64_t id;
		struct history_session_start s = {
			.program = "neck-45hz", .program_title = "",
			.patient = "C", .started_usec = T0, .pain_before = 4,
		};

		if (history_open(&h, f->path) < 0 ||
		    history_session_begin(h, &s, &id) < 0 ||
		    history_step_put(h, id, 0, "neck, left", 45000, 9 * SEC,
				     4.5, "running") < 0 ||
		    history_session_checkpoint(h, id, 9 * SEC, 4.5,
					       T0 + 10 * SEC) < 0 ||
		    history_session_checkpoint(h, id, 10 * SEC, 5.25,
					       T0 + 11 * SEC) < 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	assert_int_equal(history_open(&f->h, f->path), 0);
	running = done + 1;
	get_session(f->h, running, &c);
	assert_string_equal(c.outcome, "running");

	assert_int_equal(history_mark_interrupted(f->h, T0 + DAY, &n), 0);
	assert_int_equal(n, 1);
	get_session(f->h, running, &c);
	assert_string_equal(c.outcome, "interrupted");
	assert_int_equal(c.s.ended_usec, T0 + 11 * SEC);
	assert_int_equal(c.s.contact_usec, 10 * SEC);
	assert_float_equal(c.s.dose_ms2s, 5.25, 1e-9);
	assert_int_equal(c.s.pain_before, 4);
	/* The completed one is left alone. */
	get_session(f->h, done, &c);
	assert_string_equal(c.outcome, "completed");
	assert_int_equal(c.s.ended_usec, T0 - DAY + 60 * SEC);

	/* Nothing left to mark. */
	assert_int_equal(history_mark_interrupted(f->h, T0 + DAY, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(history_mark_interrupted(f->h, T0 + DAY, NULL), 0);
}

struct step_list {
	unsigned int n;
	struct history_step st[4];
	char site[4][64], outcome[4][32];
};

static int collect_step(const struct history_step *s, void *userdata)
{
	struct step_list *l = userdata;

	assert_true(l->n < 4);
	l->st[l->n] = *s;
	snprintf(l->site[l->n], 64, "%s", s->site);
	snprintf(l->outcome[l->n], 32, "%s", s->outcome);
	l->n++;
	return 0;
}

struct event_list {
	unsigned int n;
	char kind[4][32];
	uint64_t usec[4];
};

static int collect_event(const struct history_event *e, void *userdata)
{
	struct event_list *l = userdata;

	assert_true(l->n < 4);
	snprintf(l->kind[l->n], 32, "%s", e->kind);
	l->usec[l->n++] = e->usec;
	return 0;
}

static void test_interrupted_session_keeps_steps_and_gets_an_event(
	void **state)
{
	struct fixture *f = *state;
	struct step_list sl = { 0 };
	struct event_list el = { 0 };
	uint64_t id = begin(f->h, "", 0, T0);

	assert_int_equal(history_step_put(f->h, id, 0, "a", 40000, SEC, 1.0,
					  "done"),
			 0);
	assert_int_equal(history_step_put(f->h, id, 1, "b", 40000, SEC, 1.0,
					  "running"),
			 0);
	reopen(f);
	assert_int_equal(history_mark_interrupted(f->h, T0 + DAY, NULL), 0);
	assert_int_equal(history_list_steps(f->h, id, collect_step, &sl), 0);
	assert_int_equal(sl.n, 2);
	assert_string_equal(sl.outcome[0], "done");
	assert_string_equal(sl.outcome[1], "interrupted");
	assert_int_equal(history_list_events(f->h, id, collect_event, &el), 0);
	assert_int_equal(el.n, 1);
	assert_string_equal(el.kind[0], "interrupted");
	assert_int_equal(el.usec[0], T0 + DAY);
}

static void test_steps_and_dose_round_trip(void **state)
{
	struct fixture *f = *state;
	struct step_list sl = { 0 };
	struct event_list el = { 0 };
	struct session_copy c;
	uint64_t id = begin(f->h, "D", 0, T0);

	assert_int_equal(history_step_put(f->h, id, 1, "lower back, right",
					  30500, 20 * SEC, 12.5, "running"),
			 0);
	assert_int_equal(history_step_put(f->h, id, 0, "lower back, left",
					  45000, 30 * SEC, 20.125, "done"),
			 0);
	/* The same step again replaces it. */
	assert_int_equal(history_step_put(f->h, id, 1, "lower back, right",
					  30500, 29 * SEC, 18.0, "skipped"),
			 0);
	assert_int_equal(history_event_add(f->h, id, T0 + 5 * SEC,
					   "lost-contact", "pad lifted"),
			 0);
	assert_int_equal(history_event_add(f->h, id, T0 + 2 * SEC, "pause",
					   ""),
			 0);
	assert_int_equal(history_session_checkpoint(f->h, id, 40 * SEC, 30.0,
						    T0 + 45 * SEC),
			 0);
	assert_int_equal(history_session_end(f->h, id, T0 + 70 * SEC,
					     "completed", 59 * SEC, 38.125),
			 0);

	assert_int_equal(history_list_steps(f->h, id, collect_step, &sl), 0);
	assert_int_equal(sl.n, 2);
	assert_int_equal(sl.st[0].step, 0);
	assert_string_equal(sl.site[0], "lower back, left");
	assert_int_equal(sl.st[0].freq_mhz, 45000);
	assert_int_equal(sl.st[0].contact_usec, 30 * SEC);
	assert_float_equal(sl.st[0].dose_ms2s, 20.125, 1e-9);
	assert_string_equal(sl.outcome[0], "done");
	assert_int_equal(sl.st[1].step, 1);
	assert_int_equal(sl.st[1].freq_mhz, 30500);
	assert_int_equal(sl.st[1].contact_usec, 29 * SEC);
	assert_float_equal(sl.st[1].dose_ms2s, 18.0, 1e-9);
	assert_string_equal(sl.outcome[1], "skipped");
	assert_int_equal(sl.st[0].held_freq_mhz, 0);
	assert_int_equal(sl.st[1].held_freq_mhz, 0);

	assert_int_equal(history_list_events(f->h, id, collect_event, &el), 0);
	assert_int_equal(el.n, 2);
	assert_string_equal(el.kind[0], "pause");
	assert_string_equal(el.kind[1], "lost-contact");

	get_session(f->h, id, &c);
	assert_string_equal(c.program, "neck-45hz");
	assert_string_equal(c.title, "Neck, 45 Hz");
	assert_string_equal(c.outcome, "completed");
	assert_int_equal(c.s.started_usec, T0);
	assert_int_equal(c.s.ended_usec, T0 + 70 * SEC);
	assert_int_equal(c.s.contact_usec, 59 * SEC);
	assert_float_equal(c.s.dose_ms2s, 38.125, 1e-9);
	assert_int_equal(c.s.pain_before, -1);
	assert_int_equal(c.s.pain_after, -1);
}

/*
 * A step whose target was out of reach keeps the lowest frequency it
 * held, through later writes of the step, and shows it in the export.
 */
static void test_step_keeps_the_lowest_frequency_held(void **state)
{
	struct fixture *f = *state;
	struct step_list sl = { 0 };
	uint64_t id = begin(f->h, "D", 0, T0);
	char *text = NULL;

	assert_int_equal(history_step_put(f->h, id, 0, "neck", 60000, SEC,
					  1.0, "running"),
			 0);
	assert_int_equal(history_step_set_held(f->h, id, 0, 0), -EINVAL);
	assert_int_equal(history_step_set_held(f->h, id, 0, 55200), 0);
	assert_int_equal(history_step_set_held(f->h, id, 0, 54800), 0);
	assert_int_equal(history_step_set_held(f->h, id, 0, 57000), 0);
	assert_int_equal(history_step_put(f->h, id, 0, "neck", 60000, 2 * SEC,
					  2.0, "done"),
			 0);
	assert_int_equal(history_list_steps(f->h, id, collect_step, &sl), 0);
	assert_int_equal(sl.n, 1);
	assert_int_equal(sl.st[0].held_freq_mhz, 54800);
	assert_int_equal(history_export(f->h, "json", 0, &text), 0);
	assert_non_null(strstr(text, "\"frequency_hz\":60.000,"
				     "\"held_frequency_hz\":54.800,"));
	free(text);
}

static void test_ended_session_refuses_checkpoint_and_second_end(
	void **state)
{
	struct fixture *f = *state;
	uint64_t id = begin(f->h, "E", 0, T0);

	assert_int_equal(history_session_end(f->h, id, T0 + SEC, "running", 0,
					     0),
			 -EINVAL);
	assert_int_equal(history_session_end(f->h, id, T0 + SEC, "finished",
					     0, 0),
			 -EINVAL);
	assert_int_equal(history_session_end(f->h, id, T0 + SEC, "estopped",
					     SEC, 0.5),
			 0);
	assert_int_equal(history_session_end(f->h, id, T0 + SEC, "completed",
					     SEC, 0.5),
			 -ESTALE);
	assert_int_equal(history_session_checkpoint(f->h, id, 2 * SEC, 1.0,
						    T0 + 2 * SEC),
			 -ESTALE);
}

static void test_pain_scores_are_validated(void **state)
{
	struct fixture *f = *state;
	struct history_session_start s = {
		.program = "p", .program_title = "", .patient = "",
		.started_usec = T0, .pain_before = 11,
	};
	struct session_copy c;
	uint64_t id;

	assert_int_equal(history_session_begin(f->h, &s, &id), -EINVAL);
	s.pain_before = -2;
	assert_int_equal(history_session_begin(f->h, &s, &id), -EINVAL);
	s.pain_before = 7;
	assert_int_equal(history_session_begin(f->h, &s, &id), 0);

	assert_int_equal(history_set_pain(f->h, id, "after", 0), 0);
	assert_int_equal(history_set_pain(f->h, id, "after", 11), -EINVAL);
	assert_int_equal(history_set_pain(f->h, id, "after", -1), -EINVAL);
	assert_int_equal(history_set_pain(f->h, id, "during", 3), -EINVAL);
	assert_int_equal(history_set_pain(f->h, id, NULL, 3), -EINVAL);
	assert_int_equal(history_set_pain(f->h, id + 1, "before", 3), -ENOENT);
	get_session(f->h, id, &c);
	assert_int_equal(c.s.pain_before, 7);
	assert_int_equal(c.s.pain_after, 0);
	/* A score may be corrected, also after the end. */
	assert_int_equal(history_session_end(f->h, id, T0 + SEC, "completed",
					     0, 0),
			 0);
	assert_int_equal(history_set_pain(f->h, id, "before", 10), 0);
	get_session(f->h, id, &c);
	assert_int_equal(c.s.pain_before, 10);
}

static void test_list_sessions_newest_first_since_and_limit(void **state)
{
	struct fixture *f = *state;
	struct session_list l = { 0 };
	uint64_t a, b, c;

	a = begin(f->h, "", 0, T0);
	c = begin(f->h, "", 0, T0 + 2 * DAY);
	b = begin(f->h, "", 0, T0 + DAY);

	assert_int_equal(history_list_sessions(f->h, 0, 0, collect_ids, &l),
			 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.ids[0], c);
	assert_int_equal(l.ids[1], b);
	assert_int_equal(l.ids[2], a);

	l.n = 0;
	assert_int_equal(history_list_sessions(f->h, T0 + DAY, 0, collect_ids,
					       &l),
			 0);
	assert_int_equal(l.n, 2);
	l.n = 0;
	assert_int_equal(history_list_sessions(f->h, 0, 1, collect_ids, &l),
			 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ids[0], c);
	l.n = 0;
	assert_int_equal(history_list_sessions(f->h, UINT64_MAX, 0,
					       collect_ids, &l),
			 0);
	assert_int_equal(l.n, 0);
}

static int fail_with_eio(const struct history_session *s, void *userdata)
{
	(void)s;
	(void)userdata;
	return -EIO;
}

static void test_callback_error_stops_the_listing(void **state)
{
	struct fixture *f = *state;

	begin(f->h, "", 0, T0);
	assert_int_equal(history_list_sessions(f->h, 0, 0, fail_with_eio,
					       NULL),
			 -EIO);
}

/* Hostile free text: separators, quotes, line breaks, formulas, escapes. */
#define HOSTILE_PATIENT "=HYPERLINK(\"http://x\",\"Doe, J\")"
#define HOSTILE_SITE "trapezius,\nleft \"upper\""
#define HOSTILE_TEXT "back\\slash\ttab\r\nctl\x01 del\x7f Zo\xc3\xab \xe2\x98\x83"

static uint64_t hostile_session(struct history *h)
{
	struct history_session_start s = {
		.program = "neck", .program_title = "Neck, \"quick\"",
		.patient = HOSTILE_PATIENT, .started_usec = T0,
		.pain_before = 3,
	};
	uint64_t id;

	assert_int_equal(history_session_begin(h, &s, &id), 0);
	assert_int_equal(history_step_put(h, id, 0, HOSTILE_SITE, 45500,
					  30 * SEC, 12.3456, "done"),
			 0);
	assert_int_equal(history_event_add(h, id, T0 + SEC, "fault",
					   HOSTILE_TEXT),
			 0);
	assert_int_equal(history_session_end(h, id, T0 + 40 * SEC, "fault",
					     30 * SEC, 12.3456),
			 0);
	return id;
}

static void test_csv_export_quotes_hostile_strings(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	static const char expected[] =
		"record,session,program,title,patient,course,started_usec,"
		"ended_usec,outcome,contact_usec,dose,pain_before,pain_after,"
		"step,site,frequency_hz,event_usec,kind,text\r\n"
		"session,1,neck,\"Neck, \"\"quick\"\"\","
		"\"'=HYPERLINK(\"\"http://x\"\",\"\"Doe, J\"\")\",,"
		"1700000000000000,1700000040000000,fault,30000000,12.346,3,"
		",,,,,,\r\n"
		"step,1,,,,,,,done,30000000,12.346,,,0,"
		"\"trapezius,\nleft \"\"upper\"\"\",45.500,,,\r\n"
		"event,1,,,,,,,,,,,,,,,1700000001000000,fault,"
		"\"back\\slash\ttab\r\nctl\x01 del\x7f Zo\xc3\xab \xe2\x98\x83\""
		"\r\n";

	hostile_session(f->h);
	assert_int_equal(history_export(f->h, "csv", 0, &text), 0);
	assert_string_equal(text, expected);
	free(text);
}

static void test_json_export_escapes_hostile_strings(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	static const char expected[] =
		"{\"format\":\"massaged-history\",\"version\":2,\"sessions\":["
		"\n{\"id\":1,\"program\":\"neck\","
		"\"title\":\"Neck, \\\"quick\\\"\","
		"\"patient\":\"=HYPERLINK(\\\"http://x\\\",\\\"Doe, J\\\")\","
		"\"course\":null,\"manual_frequency_hz\":null,"
		"\"started_usec\":1700000000000000,"
		"\"ended_usec\":1700000040000000,\"outcome\":\"fault\","
		"\"contact_usec\":30000000,\"dose\":12.346,"
		"\"pain_before\":3,\"pain_after\":null,"
		"\"steps\":[{\"step\":0,"
		"\"site\":\"trapezius,\\nleft \\\"upper\\\"\","
		"\"frequency_hz\":45.500,\"contact_usec\":30000000,"
		"\"dose\":12.346,\"outcome\":\"done\"}],"
		"\"events\":[{\"usec\":1700000001000000,\"kind\":\"fault\","
		"\"text\":\"back\\\\slash\\ttab\\r\\nctl\\u0001 del\\u007f "
		"Zo\xc3\xab \xe2\x98\x83\"}]}"
		"\n]}\n";

	hostile_session(f->h);
	assert_int_equal(history_export(f->h, "json", 0, &text), 0);
	assert_string_equal(text, expected);
	free(text);
}

static void test_export_of_several_sessions_is_oldest_first(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;
	const char *first, *second;

	begin(f->h, "later", 0, T0 + DAY);
	begin(f->h, "earlier", 0, T0);
	begin(f->h, "before since", 0, T0 - DAY);
	assert_int_equal(history_export(f->h, "json", T0, &text), 0);
	first = strstr(text, "\"patient\":\"earlier\"");
	second = strstr(text, "\"patient\":\"later\"");
	assert_non_null(first);
	assert_non_null(second);
	assert_true(first < second);
	assert_null(strstr(text, "before since"));
	/* Two sessions: one comma between them at the top level. */
	assert_non_null(strstr(text, "]},\n{\"id\":"));
	free(text);

	assert_int_equal(history_export(f->h, "csv", T0, &text), 0);
	assert_null(strstr(text, "before since"));
	assert_true(strstr(text, ",earlier,") < strstr(text, ",later,"));
	free(text);
}

static void test_export_of_an_empty_history_is_valid(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;

	assert_int_equal(history_export(f->h, "json", 0, &text), 0);
	assert_string_equal(text, "{\"format\":\"massaged-history\","
				  "\"version\":2,\"sessions\":[\n]}\n");
	free(text);
}

static void test_export_refuses_an_unknown_format(void **state)
{
	struct fixture *f = *state;
	char *text = NULL;

	assert_int_equal(history_export(f->h, "xml", 0, &text), -EINVAL);
	assert_int_equal(history_export(f->h, "CSV ", 0, &text), -EINVAL);
	assert_int_equal(history_export(f->h, NULL, 0, &text), -EINVAL);
	assert_int_equal(history_export(f->h, "csv", 0, NULL), -EINVAL);
	assert_null(text);
}

static void test_text_that_is_not_utf8_or_too_long_is_refused(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"\xff", "ab\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xe2\x82",
	};
	struct history_session_start s = {
		.program = "p", .program_title = "", .started_usec = T0,
		.pain_before = -1,
	};
	char *long_text;
	uint64_t id;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		s.patient = bad[i];
		assert_int_equal(history_session_begin(f->h, &s, &id),
				 -EINVAL);
	}
	long_text = malloc(HISTORY_TEXT_MAX + 2);
	assert_non_null(long_text);
	memset(long_text, 'x', HISTORY_TEXT_MAX + 1);
	long_text[HISTORY_TEXT_MAX + 1] = '\0';
	s.patient = long_text;
	assert_int_equal(history_session_begin(f->h, &s, &id), -EINVAL);
	long_text[HISTORY_TEXT_MAX] = '\0';
	assert_int_equal(history_session_begin(f->h, &s, &id), 0);
	free(long_text);

	s.patient = "";
	s.program = "";
	assert_int_equal(history_session_begin(f->h, &s, &id), -EINVAL);
}

static void test_bad_numbers_are_refused(void **state)
{
	struct fixture *f = *state;
	uint64_t id = begin(f->h, "", 0, T0);

	assert_int_equal(history_session_checkpoint(f->h, id, SEC, -1.0, T0),
			 -EINVAL);
	assert_int_equal(history_session_checkpoint(f->h, id, SEC, NAN, T0),
			 -EINVAL);
	assert_int_equal(history_session_checkpoint(f->h, id, SEC, INFINITY,
						    T0),
			 -EINVAL);
	assert_int_equal(history_session_checkpoint(f->h, id, UINT64_MAX,
						    1.0, T0),
			 -EINVAL);
	assert_int_equal(history_step_put(f->h, id, 0, "s", 1, SEC, NAN,
					  "done"),
			 -EINVAL);
	assert_int_equal(history_step_put(f->h, id, 0, "s", 1, SEC, 1.0, ""),
			 -EINVAL);
	assert_int_equal(history_event_add(f->h, id, T0, "", "no kind"),
			 -EINVAL);
}

struct queue_list {
	unsigned int n;
	uint64_t ids[8];
	char program[8][32];
};

static int collect_queue(const struct history_queue_entry *e, void *userdata)
{
	struct queue_list *l = userdata;

	assert_true(l->n < 8);
	l->ids[l->n] = e->id;
	snprintf(l->program[l->n], 32, "%s", e->program);
	l->n++;
	return 0;
}

static int refuse_entry(const struct history_queue_entry *e, void *userdata)
{
	(void)e;
	(void)userdata;
	return -EBUSY;
}

static void test_queue_keeps_order_removes_and_pops_the_head(void **state)
{
	struct fixture *f = *state;
	struct queue_list l = { 0 };
	uint64_t a, b, c, d;

	assert_int_equal(history_queue_add(f->h, "first", "P", 0, 0, &a), 0);
	assert_int_equal(history_queue_add(f->h, "second", "", 0, T0, &b), 0);
	assert_int_equal(history_queue_add(f->h, "third", "", 0, 0, &c), 0);
	assert_int_equal(history_queue_remove(f->h, b), 0);
	assert_int_equal(history_queue_remove(f->h, b), -ENOENT);
	reopen(f);

	assert_int_equal(history_queue_list(f->h, collect_queue, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.ids[0], a);
	assert_int_equal(l.ids[1], c);

	/* A failed hand-over leaves the head where it was. */
	assert_int_equal(history_queue_pop(f->h, refuse_entry, NULL), -EBUSY);
	l.n = 0;
	assert_int_equal(history_queue_pop(f->h, collect_queue, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.program[0], "first");
	assert_int_equal(history_queue_pop(f->h, collect_queue, &l), 0);
	assert_string_equal(l.program[1], "third");
	assert_int_equal(history_queue_pop(f->h, collect_queue, &l),
			 -ENODATA);

	/* Ids are never reused: a stale id names nothing. */
	assert_int_equal(history_queue_add(f->h, "fourth", "", 0, 0, &d), 0);
	assert_true(d > c);
	assert_int_equal(history_queue_remove(f->h, c), -ENOENT);
}

struct plan_list {
	unsigned int n;
	struct history_plan p[4];
};

static int collect_plan(const struct history_plan *p, void *userdata)
{
	struct plan_list *l = userdata;

	assert_true(l->n < 4);
	l->p[l->n] = *p;
	l->p[l->n].program = NULL;
	l->p[l->n].patient = NULL;
	l->n++;
	return 0;
}

static void test_plans_add_list_update_and_remove(void **state)
{
	struct fixture *f = *state;
	struct plan_list l = { 0 };
	struct history_plan p = {
		.program = "neck", .patient = "Q", .when_minutes = 8 * 60 + 30,
		.daily = true, .next_due_usec = T0 + DAY,
	};
	uint64_t daily, once, course;

	assert_int_equal(history_plan_add(f->h, &p, &daily), 0);
	p = (struct history_plan) {
		.program = "back", .patient = "", .when_minutes = -1,
		.when_usec = T0 + 3600 * SEC, .next_due_usec = T0 + 3600 * SEC,
	};
	assert_int_equal(history_plan_add(f->h, &p, &once), 0);
	reopen(f);

	assert_int_equal(history_plan_list(f->h, collect_plan, &l), 0);
	assert_int_equal(l.n, 2);
	/* In order of next due time. */
	assert_int_equal(l.p[0].id, once);
	assert_int_equal(l.p[0].when_minutes, -1);
	assert_int_equal(l.p[0].when_usec, T0 + 3600 * SEC);
	assert_false(l.p[0].daily);
	assert_int_equal(l.p[1].id, daily);
	assert_int_equal(l.p[1].when_minutes, 510);
	assert_int_equal(l.p[1].when_usec, 0);
	assert_true(l.p[1].daily);

	assert_int_equal(history_plan_set_next_due(f->h, daily, T0), 0);
	l.n = 0;
	assert_int_equal(history_plan_list(f->h, collect_plan, &l), 0);
	assert_int_equal(l.p[0].id, daily);
	assert_int_equal(l.p[0].next_due_usec, T0);

	assert_int_equal(history_plan_remove(f->h, once), 0);
	assert_int_equal(history_plan_remove(f->h, once), -ENOENT);
	assert_int_equal(history_plan_set_next_due(f->h, once, T0), -ENOENT);
	l.n = 0;
	assert_int_equal(history_plan_list(f->h, collect_plan, &l), 0);
	assert_int_equal(l.n, 1);

	/* A plan may name a course, but only an existing one. */
	assert_int_equal(history_course_create(f->h, "Q", "neck", 10, 1, T0,
					       &course),
			 0);
	p.course_id = course + 1;
	assert_int_equal(history_plan_add(f->h, &p, NULL), -ENOENT);
	p.course_id = course;
	assert_int_equal(history_plan_add(f->h, &p, NULL), 0);
}

static void test_plan_needs_exactly_one_time(void **state)
{
	struct fixture *f = *state;
	struct history_plan p = {
		.program = "neck", .patient = "", .when_minutes = -1,
		.when_usec = 0, .next_due_usec = T0,
	};

	assert_int_equal(history_plan_add(f->h, &p, NULL), -EINVAL);
	p.when_minutes = 60;
	p.when_usec = T0;
	assert_int_equal(history_plan_add(f->h, &p, NULL), -EINVAL);
	p.when_usec = 0;
	p.when_minutes = 24 * 60;
	assert_int_equal(history_plan_add(f->h, &p, NULL), -EINVAL);
	p.when_minutes = -2;
	assert_int_equal(history_plan_add(f->h, &p, NULL), -EINVAL);
	p.when_minutes = 0;
	assert_int_equal(history_plan_add(f->h, &p, NULL), 0);
}

static int copy_course(const struct history_course *c, void *userdata)
{
	struct history_course *ret = userdata;

	*ret = *c;
	ret->patient = NULL;
	ret->program = NULL;
	return 0;
}

static struct history_course course_at(struct history *h, uint64_t id,
				       uint64_t now_usec)
{
	struct history_course c = { 0 };

	assert_int_equal(history_course_get(h, id, now_usec, copy_course, &c),
			 0);
	assert_int_equal(c.id, id);
	return c;
}

static void complete(struct history *h, uint64_t course, uint64_t at_usec)
{
	uint64_t id = begin(h, "R", course, at_usec);

	assert_int_equal(history_session_end(h, id, at_usec + 60 * SEC,
					     "completed", 60 * SEC, 10.0),
			 0);
}

static void expect_course(struct history *h, uint64_t id, uint64_t now_usec,
			  unsigned int done, unsigned int missed,
			  unsigned int due, uint64_t next_due_usec)
{
	struct history_course c = course_at(h, id, now_usec);

	assert_int_equal(c.done, done);
	assert_int_equal(c.missed, missed);
	assert_int_equal(c.due, due);
	assert_int_equal(c.next_due_usec, next_due_usec);
}

static void test_course_done_missed_due_across_days(void **state)
{
	struct fixture *f = *state;
	uint64_t course, stopped;

	/* 5 sessions, one a day from T0. */
	assert_int_equal(history_course_create(f->h, "R", "neck", 5, 1, T0,
					       &course),
			 0);
	/* Before it starts: everything due, the first at the start. */
	expect_course(f->h, course, T0 - DAY, 0, 0, 5, T0);
	/* Day 0 open and not done yet: due now, in slot 0. */
	expect_course(f->h, course, T0 + 3600 * SEC, 0, 0, 5, T0);

	complete(f->h, course, T0 + 3600 * SEC);
	/* Day 0 done: the next is tomorrow. */
	expect_course(f->h, course, T0 + 2 * 3600 * SEC, 1, 0, 4, T0 + DAY);

	/* Day 1: a stopped session is not a done one. */
	stopped = begin(f->h, "R", course, T0 + DAY + 60 * SEC);
	assert_int_equal(history_session_end(f->h, stopped,
					     T0 + DAY + 90 * SEC, "stopped",
					     30 * SEC, 5.0),
			 0);
	/* Day 2 done. */
	complete(f->h, course, T0 + 2 * DAY + 7200 * SEC);
	/* Day 3, nothing yet: day 1 missed, day 3 due now. */
	expect_course(f->h, course, T0 + 3 * DAY + 3600 * SEC, 2, 1, 2,
		      T0 + 3 * DAY);

	complete(f->h, course, T0 + 3 * DAY + 7200 * SEC);
	expect_course(f->h, course, T0 + 3 * DAY + 8000 * SEC, 3, 1, 1,
		      T0 + 4 * DAY);
	/* Day 5: day 4 passed too; the course is over, 3 done 2 missed. */
	expect_course(f->h, course, T0 + 5 * DAY, 3, 2, 0, 0);
	expect_course(f->h, course, T0 + 100 * DAY, 3, 2, 0, 0);
}

static void test_course_with_longer_interval_and_extra_sessions(void **state)
{
	struct fixture *f = *state;
	uint64_t course;

	/* 3 sessions, every other day: slots [0,2d) [2d,4d) [4d,6d). */
	assert_int_equal(history_course_create(f->h, "S", "back", 3, 2, T0,
					       &course),
			 0);
	complete(f->h, course, T0 + DAY + 3600 * SEC);
	/* Done in slot 0 (on its second day): next in slot 1. */
	expect_course(f->h, course, T0 + DAY + 7200 * SEC, 1, 0, 2,
		      T0 + 2 * DAY);
	/* Slot 1 passes empty. */
	expect_course(f->h, course, T0 + 4 * DAY + SEC, 1, 1, 1, T0 + 4 * DAY);
	/*
	 * Two sessions in slot 2 make up the missed one: done never makes
	 * done + missed exceed the course.
	 */
	complete(f->h, course, T0 + 4 * DAY + 3600 * SEC);
	complete(f->h, course, T0 + 5 * DAY);
	expect_course(f->h, course, T0 + 5 * DAY + 3600 * SEC, 3, 0, 0, 0);
	expect_course(f->h, course, T0 + 50 * DAY, 3, 0, 0, 0);
}

static void test_course_refuses_zero_sessions_or_interval(void **state)
{
	struct fixture *f = *state;
	uint64_t id;

	assert_int_equal(history_course_create(f->h, "R", "neck", 0, 1, T0,
					       &id),
			 -EINVAL);
	assert_int_equal(history_course_create(f->h, "R", "neck", 5, 0, T0,
					       &id),
			 -EINVAL);
	assert_int_equal(history_course_create(f->h, "R", "", 5, 1, T0, &id),
			 -EINVAL);
	assert_int_equal(history_course_create(f->h, "R", "neck", 5, 1,
					       UINT64_MAX, &id),
			 -EINVAL);
	assert_int_equal(history_course_create(f->h, "", "neck", 5, 1, T0,
					       &id),
			 0);
}

struct course_list {
	unsigned int n;
	uint64_t ids[4];
};

static int collect_course(const struct history_course *c, void *userdata)
{
	struct course_list *l = userdata;

	assert_true(l->n < 4);
	l->ids[l->n++] = c->id;
	return 0;
}

static void test_course_list_shows_every_course(void **state)
{
	struct fixture *f = *state;
	struct course_list l = { 0 };
	uint64_t a, b;

	assert_int_equal(history_course_create(f->h, "R", "neck", 5, 1, T0,
					       &a),
			 0);
	assert_int_equal(history_course_create(f->h, "S", "back", 6, 2, T0,
					       &b),
			 0);
	reopen(f);
	assert_int_equal(history_course_list(f->h, T0, collect_course, &l),
			 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.ids[0], a);
	assert_int_equal(l.ids[1], b);
}

struct dose_list {
	unsigned int n;
	char site[4][32];
	struct history_site_dose d[4];
};

static int collect_dose(const struct history_site_dose *d, void *userdata)
{
	struct dose_list *l = userdata;

	assert_true(l->n < 4);
	snprintf(l->site[l->n], 32, "%s", d->site);
	l->d[l->n] = *d;
	l->n++;
	return 0;
}

static void test_course_dose_is_summed_per_site(void **state)
{
	struct fixture *f = *state;
	struct dose_list l = { 0 };
	uint64_t course, other, s1, s2, s3;

	assert_int_equal(history_course_create(f->h, "R", "neck", 5, 1, T0,
					       &course),
			 0);
	s1 = begin(f->h, "R", course, T0);
	history_step_put(f->h, s1, 0, "neck, left", 45000, 30 * SEC, 10.0,
			 "done");
	history_step_put(f->h, s1, 1, "neck, right", 45000, 20 * SEC, 5.0,
			 "done");
	s2 = begin(f->h, "R", course, T0 + DAY);
	history_step_put(f->h, s2, 0, "neck, left", 45000, 40 * SEC, 12.5,
			 "done");
	/* Another session, outside the course, does not count. */
	s3 = begin(f->h, "R", 0, T0 + DAY);
	history_step_put(f->h, s3, 0, "neck, left", 45000, 99 * SEC, 99.0,
			 "done");

	assert_int_equal(history_course_dose(f->h, course, collect_dose, &l),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.site[0], "neck, left");
	assert_int_equal(l.d[0].sessions, 2);
	assert_int_equal(l.d[0].contact_usec, 70 * SEC);
	assert_float_equal(l.d[0].dose_ms2s, 22.5, 1e-9);
	assert_string_equal(l.site[1], "neck, right");
	assert_int_equal(l.d[1].sessions, 1);
	assert_int_equal(l.d[1].contact_usec, 20 * SEC);

	assert_int_equal(history_course_create(f->h, "T", "neck", 5, 1, T0,
					       &other),
			 0);
	l.n = 0;
	assert_int_equal(history_course_dose(f->h, other, collect_dose, &l), 0);
	assert_int_equal(l.n, 0);
}

/* Callbacks that must not run: the id named nothing. */
#define NEVER_CALLED(name, type)                              \
	static int name(const type *row, void *userdata)      \
	{                                                     \
		(void)row;                                    \
		(void)userdata;                               \
		fail();                                       \
		return 0;                                     \
	}
NEVER_CALLED(no_session, struct history_session)
NEVER_CALLED(no_step, struct history_step)
NEVER_CALLED(no_event, struct history_event)
NEVER_CALLED(no_course, struct history_course)
NEVER_CALLED(no_dose, struct history_site_dose)

static void test_unknown_ids_give_enoent(void **state)
{
	struct fixture *f = *state;
	struct history_session_start s = {
		.program = "p", .program_title = "", .patient = "",
		.course_id = 42, .started_usec = T0, .pain_before = -1,
	};
	uint64_t id;
	static const uint64_t ids[] = { 0, 1, 7, UINT64_MAX };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		uint64_t u = ids[i];

		assert_int_equal(history_session_checkpoint(f->h, u, 0, 0, T0),
				 -ENOENT);
		assert_int_equal(history_step_put(f->h, u, 0, "s", 1, 0, 0,
						  "done"),
				 -ENOENT);
		assert_int_equal(history_event_add(f->h, u, T0, "fault", ""),
				 -ENOENT);
		assert_int_equal(history_session_end(f->h, u, T0, "stopped", 0,
						     0),
				 -ENOENT);
		assert_int_equal(history_set_pain(f->h, u, "after", 2),
				 -ENOENT);
		assert_int_equal(history_get_session(f->h, u,
						     no_session,
						     NULL),
				 -ENOENT);
		assert_int_equal(history_list_steps(f->h, u,
						    no_step,
						    NULL),
				 -ENOENT);
		assert_int_equal(history_list_events(f->h, u,
						     no_event,
						     NULL),
				 -ENOENT);
		assert_int_equal(history_queue_remove(f->h, u), -ENOENT);
		assert_int_equal(history_plan_remove(f->h, u), -ENOENT);
		assert_int_equal(history_plan_set_next_due(f->h, u, T0),
				 -ENOENT);
		assert_int_equal(history_course_get(f->h, u, T0,
						    no_course,
						    NULL),
				 -ENOENT);
		assert_int_equal(history_course_dose(f->h, u,
						     no_dose,
						     NULL),
				 -ENOENT);
	}
	assert_int_equal(history_session_begin(f->h, &s, &id), -ENOENT);
	assert_int_equal(history_queue_add(f->h, "p", "", 42, 0, &id),
			 -ENOENT);
}

static void test_null_arguments_are_einval(void **state)
{
	struct fixture *f = *state;
	struct history_plan p = { .when_minutes = 0 };
	uint64_t id = begin(f->h, "", 0, T0);
	char *text;

	assert_int_equal(history_mark_interrupted(NULL, T0, NULL), -EINVAL);
	assert_int_equal(history_session_begin(NULL, NULL, &id), -EINVAL);
	assert_int_equal(history_session_begin(f->h, NULL, &id), -EINVAL);
	assert_int_equal(history_session_checkpoint(NULL, id, 0, 0, T0),
			 -EINVAL);
	assert_int_equal(history_step_put(f->h, id, 0, NULL, 1, 0, 0, "done"),
			 -EINVAL);
	assert_int_equal(history_step_put(f->h, id, 0, "s", 1, 0, 0, NULL),
			 -EINVAL);
	assert_int_equal(history_event_add(f->h, id, T0, NULL, ""), -EINVAL);
	assert_int_equal(history_event_add(f->h, id, T0, "fault", NULL),
			 -EINVAL);
	assert_int_equal(history_session_end(f->h, id, T0, NULL, 0, 0),
			 -EINVAL);
	assert_int_equal(history_set_pain(NULL, id, "before", 1), -EINVAL);
	assert_int_equal(history_list_sessions(f->h, 0, 0, NULL, NULL),
			 -EINVAL);
	assert_int_equal(history_list_sessions(NULL, 0, 0, collect_ids, NULL),
			 -EINVAL);
	assert_int_equal(history_get_session(f->h, id, NULL, NULL), -EINVAL);
	assert_int_equal(history_list_steps(f->h, id, NULL, NULL), -EINVAL);
	assert_int_equal(history_list_events(f->h, id, NULL, NULL), -EINVAL);
	assert_int_equal(history_export(NULL, "csv", 0, &text), -EINVAL);
	assert_int_equal(history_queue_add(f->h, NULL, "", 0, 0, NULL),
			 -EINVAL);
	assert_int_equal(history_queue_add(f->h, "p", NULL, 0, 0, NULL),
			 -EINVAL);
	assert_int_equal(history_queue_list(f->h, NULL, NULL), -EINVAL);
	assert_int_equal(history_queue_pop(f->h, NULL, NULL), -EINVAL);
	assert_int_equal(history_queue_remove(NULL, 1), -EINVAL);
	assert_int_equal(history_plan_add(f->h, NULL, NULL), -EINVAL);
	assert_int_equal(history_plan_add(f->h, &p, NULL), -EINVAL);
	assert_int_equal(history_plan_list(f->h, NULL, NULL), -EINVAL);
	assert_int_equal(history_course_create(f->h, NULL, "p", 1, 1, T0,
					       NULL),
			 -EINVAL);
	assert_int_equal(history_course_list(f->h, T0, NULL, NULL), -EINVAL);
	assert_int_equal(history_course_dose(NULL, 1, collect_dose, NULL),
			 -EINVAL);
	assert_false(history_outcome_is_valid(NULL));
	assert_true(history_outcome_is_valid("interrupted"));
	assert_false(history_outcome_is_valid("running"));
	assert_non_null(history_errmsg(NULL));
	assert_non_null(history_errmsg(f->h));
}

struct pop_start {
	struct history *h;
	uint64_t session_id;
};

/*
 * What the daemon does with the head of the queue: check its course and
 * record the session it starts, from inside the callback.
 */
static int start_from_queue(const struct history_queue_entry *e,
			    void *userdata)
{
	struct pop_start *ps = userdata;
	struct history_course c;
	struct history_session_start s = {
		.program = e->program, .program_title = "",
		.patient = e->patient, .course_id = e->course_id,
		.started_usec = T0 + DAY, .pain_before = -1,
	};
	int r;

	r = history_course_get(ps->h, e->course_id, T0 + DAY, copy_course,
			       &c);
	if (r < 0)
		return r;
	return history_session_begin(ps->h, &s, &ps->session_id);
}

/* A transaction inside another: the lookup runs in the list's own. */
static int get_course_again(const struct history_course *c, void *userdata)
{
	struct history *h = userdata;
	struct history_course again;

	return history_course_get(h, c->id, T0, copy_course, &again);
}

static void test_callbacks_may_call_back_into_the_history(void **state)
{
	struct fixture *f = *state;
	struct pop_start ps = { .h = f->h };
	struct queue_list l = { 0 };
	struct session_copy c;
	uint64_t course;

	assert_int_equal(history_course_create(f->h, "U", "neck", 5, 1, T0,
					       &course),
			 0);
	assert_int_equal(history_queue_add(f->h, "neck", "U", course, 0, NULL),
			 0);
	assert_int_equal(history_queue_pop(f->h, start_from_queue, &ps), 0);
	assert_true(ps.session_id > 0);
	reopen(f);
	get_session(f->h, ps.session_id, &c);
	assert_int_equal(c.s.course_id, course);
	assert_int_equal(history_queue_list(f->h, collect_queue, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(history_course_list(f->h, T0, get_course_again, f->h),
			 0);
	/* Nothing was left open: a write still goes through and is kept. */
	assert_int_equal(history_queue_add(f->h, "neck", "", 0, 0, NULL), 0);
	reopen(f);
	assert_int_equal(history_queue_list(f->h, collect_queue, &l), 0);
	assert_int_equal(l.n, 1);
}

struct plan_fire {
	struct history *h;
	unsigned int calls;
};

/*
 * As the daemon does when plans fall due: remove one, move the other
 * past every other plan.
 */
static int fire_plan(const struct history_plan *p, void *userdata)
{
	struct plan_fire *pf = userdata;

	pf->calls++;
	if (!p->daily)
		return history_plan_remove(pf->h, p->id);
	return history_plan_set_next_due(pf->h, p->id, T0 + 100 * DAY);
}

static void test_plan_list_visits_each_plan_once_while_they_change(
	void **state)
{
	struct fixture *f = *state;
	struct plan_fire pf = { .h = f->h };
	struct plan_list l = { 0 };
	struct history_plan p = {
		.program = "neck", .patient = "", .when_minutes = 600,
		.daily = true, .next_due_usec = T0,
	};

	assert_int_equal(history_plan_add(f->h, &p, NULL), 0);
	p.next_due_usec = T0 + SEC;
	assert_int_equal(history_plan_add(f->h, &p, NULL), 0);
	p.daily = false;
	p.next_due_usec = T0 + 2 * SEC;
	assert_int_equal(history_plan_add(f->h, &p, NULL), 0);

	assert_int_equal(history_plan_list(f->h, fire_plan, &pf), 0);
	assert_int_equal(pf.calls, 3);
	assert_int_equal(history_plan_list(f->h, collect_plan, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.p[0].next_due_usec, T0 + 100 * DAY);
	assert_int_equal(l.p[1].next_due_usec, T0 + 100 * DAY);
}

/* --- erasure and retention ------------------------------------------------ */

/* A finished session with two steps and an event. */
static uint64_t recorded(struct history *h, const char *patient,
			 uint64_t course_id, uint64_t started_usec)
{
	uint64_t id = begin(h, patient, course_id, started_usec);
	unsigned int i;

	/* Many checkpoints: each rewrites the row that names the patient. */
	for (i = 1; i <= 20; i++)
		assert_int_equal(history_session_checkpoint(h, id, i * SEC,
							    i * 1.5,
							    started_usec +
							    i * SEC),
				 0);
	assert_int_equal(history_step_put(h, id, 0, "neck, left", 45000,
					  10 * SEC, 15.0, "done"),
			 0);
	assert_int_equal(history_step_put(h, id, 1, "neck, right", 45000,
					  10 * SEC, 15.0, "done"),
			 0);
	assert_int_equal(history_event_add(h, id, started_usec + 5 * SEC,
					   "pause", "by the handset"),
			 0);
	assert_int_equal(history_session_end(h, id, started_usec + 30 * SEC,
					     "completed", 20 * SEC, 30.0),
			 0);
	return id;
}

static unsigned int count_rows(const char *path, const char *sql)
{
	char buf[32];

	query_text(path, sql, buf, sizeof(buf));
	return (unsigned int)atoi(buf);
}

/* Does the file at @path hold @needle anywhere in its bytes? */
static bool file_holds(const char *path, const char *needle)
{
	size_t n = 0, cap = 1 << 16, k;
	char *buf = malloc(cap);
	bool found;
	FILE *fp;

	assert_non_null(buf);
	fp = fopen(path, "rb");
	if (!fp) {
		free(buf);
		return false;
	}
	while ((k = fread(buf + n, 1, cap - n, fp)) > 0) {
		n += k;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(fp);
	found = memmem(buf, n, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

static bool files_hold(const struct fixture *f, const char *needle)
{
	char wal[128];

	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	return file_holds(f->path, needle) || file_holds(wal, needle);
}

#define ERASED "Zebedee Erasable-Patient"

/* @who: 2 sessions (one of a course), a queue entry, a plan, a course. */
static uint64_t patient_with_everything(struct history *h, const char *who)
{
	struct history_plan p = {
		.program = "neck", .patient = who, .when_minutes = 9 * 60,
		.daily = true, .next_due_usec = T0 + DAY,
	};
	uint64_t course;

	assert_int_equal(history_course_create(h, who, "neck-45hz", 5, 1, T0,
					       &course),
			 0);
	recorded(h, who, 0, T0 - DAY);
	recorded(h, who, course, T0);
	assert_int_equal(history_queue_add(h, "neck", who, 0, 0, NULL), 0);
	assert_int_equal(history_plan_add(h, &p, NULL), 0);
	return course;
}

static void assert_erased(const struct history_erased *e,
			  unsigned int sessions, unsigned int queue,
			  unsigned int plans, unsigned int courses)
{
	assert_int_equal(e->sessions, sessions);
	assert_int_equal(e->steps, 2 * sessions);
	assert_int_equal(e->events, sessions);
	assert_int_equal(e->queue, queue);
	assert_int_equal(e->plans, plans);
	assert_int_equal(e->courses, courses);
}

static void test_erase_patient_removes_every_row_of_theirs_only(void **state)
{
	struct fixture *f = *state;
	struct history_erased e;
	struct session_list l = { 0 };
	uint64_t course, other;

	course = patient_with_everything(f->h, ERASED);
	other = recorded(f->h, "Another Patient", 0, T0 + 60 * SEC);
	recorded(f->h, "", 0, T0 + 120 * SEC);
	/* An entry of the patient's course that names no one is theirs. */
	assert_int_equal(history_queue_add(f->h, "neck-45hz", "", course, 0,
					   NULL),
			 0);
	/* A name that merely contains theirs, or differs in case, is not. */
	recorded(f->h, ERASED " Junior", 0, T0 + 180 * SEC);
	recorded(f->h, "zebedee erasable-patient", 0, T0 + 240 * SEC);

	/* A dry run counts and changes nothing. */
	memset(&e, 0xff, sizeof(e));
	assert_int_equal(history_erase_patient(f->h, ERASED, true, &e), 0);
	assert_erased(&e, 2, 2, 1, 1);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM sessions"),
			 6);

	assert_int_equal(history_erase_patient(f->h, ERASED, false, &e), 0);
	assert_erased(&e, 2, 2, 1, 1);
	assert_int_equal(count_rows(f->path,
				    "SELECT COUNT(*) FROM sessions WHERE"
				    " patient = '" ERASED "'"),
			 0);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM steps"
				    " WHERE session_id NOT IN"
				    " (SELECT id FROM sessions)"),
			 0);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM queue"), 0);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM plans"), 0);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM courses"),
			 0);
	/* Everyone else's records are whole. */
	assert_int_equal(history_list_sessions(f->h, 0, 0, collect_ids, &l),
			 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM steps"), 8);
	assert_int_equal(history_get_session(f->h, other, get_one,
					     &(struct session_copy){ 0 }),
			 0);

	/* Again: nothing left, and that is not an error. */
	assert_int_equal(history_erase_patient(f->h, ERASED, false, &e), 0);
	assert_erased(&e, 0, 0, 0, 0);
}

static void test_erase_patient_refuses_no_name(void **state)
{
	struct fixture *f = *state;
	struct history_erased e;
	char big[HISTORY_TEXT_MAX + 2];

	recorded(f->h, "", 0, T0);
	/* "" would be every session recorded without a name. */
	assert_int_equal(history_erase_patient(f->h, "", false, &e), -EINVAL);
	assert_int_equal(history_erase_patient(f->h, NULL, false, &e),
			 -EINVAL);
	assert_int_equal(history_erase_patient(f->h, "\xff", false, &e),
			 -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(history_erase_patient(f->h, big, false, &e), -EINVAL);
	assert_int_equal(history_erase_patient(f->h, "A", false, NULL),
			 -EINVAL);
	assert_int_equal(history_erase_patient(NULL, "A", false, &e), -EINVAL);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM sessions"),
			 1);
}

static void test_erase_patient_leaves_no_trace_in_the_file_or_wal(
	void **state)
{
	struct fixture *f = *state;
	struct history_erased e;

	patient_with_everything(f->h, ERASED);
	recorded(f->h, "Kept Patient", 0, T0 + DAY);
	/* Else the check below could not fail. */
	assert_true(files_hold(f, ERASED));

	assert_int_equal(history_erase_patient(f->h, ERASED, false, &e), 0);
	assert_int_equal(e.sessions, 2);
	/* With the connection still open: no copy in either file. */
	assert_false(files_hold(f, ERASED));
	assert_true(files_hold(f, "Kept Patient"));
	/* And the database is sound. */
	{
		char buf[16];

		query_text(f->path, "PRAGMA integrity_check", buf,
			   sizeof(buf));
		assert_string_equal(buf, "ok");
	}
}

static void exit_at_stage(const char *stage, void *userdata)
{
	/* Die as kill -9 would: no rollback, no close, no atexit. */
	if (strcmp(stage, userdata) == 0)
		_exit(0);
}

/* In a child: erase ERASED and die at @stage. */
static void erase_and_die_at(struct fixture *f, const char *stage)
{
	pid_t pid;
	int status;

	f->h = history_free(f->h);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct history *h;
		struct history_erased e;

		if (history_open(&h, f->path) < 0)
			_exit(2);
		history_set_erase_hook(h, exit_at_stage, (void *)stage);
		history_erase_patient(h, ERASED, false, &e);
		_exit(3);	/* the hook did not run */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_a_crash_mid_erase_leaves_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	struct history_erased e;

	patient_with_everything(f->h, ERASED);
	recorded(f->h, "Kept Patient", 0, T0 + DAY);

	/* Killed with every row deleted but not committed: nothing went. */
	erase_and_die_at(f, "deleted");
	assert_int_equal(history_open(&f->h, f->path), 0);
	assert_int_equal(history_erase_patient(f->h, ERASED, true, &e), 0);
	assert_erased(&e, 2, 1, 1, 1);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM sessions"),
			 3);

	/*
	 * Killed after the commit, before the checkpoint: all went, but the
	 * database file still has the old pages (the -wal the new ones);
	 * the next open checkpoints and scrubs.
	 */
	erase_and_die_at(f, "committed");
	assert_true(files_hold(f, ERASED));
	assert_int_equal(history_open(&f->h, f->path), 0);
	assert_false(files_hold(f, ERASED));
	assert_int_equal(history_erase_patient(f->h, ERASED, true, &e), 0);
	assert_erased(&e, 0, 0, 0, 0);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM sessions"),
			 1);
}

static void test_expire_removes_what_ended_before_the_cutoff(void **state)
{
	struct fixture *f = *state;
	struct history_erased e;
	uint64_t cut = T0 + 100 * DAY, over, running, queued;
	uint64_t old, recent, unfinished;

	/* Old and ended: goes.  Recent, or still running: stays. */
	old = recorded(f->h, "Old Patient", 0, T0);
	recent = recorded(f->h, "Recent Patient", 0, cut + SEC);
	unfinished = begin(f->h, "Old Patient", 0, T0 + SEC);
	/* Ended just before the cut-off: goes; at it: stays. */
	recorded(f->h, "Edge Patient", 0, cut - 30 * SEC - 1);
	recorded(f->h, "Edge Patient", 0, cut - 30 * SEC);

	/* A course long over, its sessions old: all of it goes. */
	assert_int_equal(history_course_create(f->h, "Course Over", "neck",
					       3, 1, T0, &over),
			 0);
	recorded(f->h, "Course Over", over, T0);
	recorded(f->h, "Course Over", over, T0 + DAY);
	/* A course still under way keeps even its old sessions. */
	assert_int_equal(history_course_create(f->h, "Course Running", "neck",
					       200, 1, T0, &running),
			 0);
	recorded(f->h, "Course Running", running, T0);
	/* A course over whose entry still waits in the queue stays. */
	assert_int_equal(history_course_create(f->h, "Course Queued", "neck",
					       2, 1, T0, &queued),
			 0);
	recorded(f->h, "Course Queued", queued, T0);
	assert_int_equal(history_queue_add(f->h, "neck", "Course Queued",
					   queued, 0, NULL),
			 0);

	assert_int_equal(history_expire(f->h, cut, 0, &e), 0);
	assert_int_equal(e.sessions, 4);	/* old, edge, 2 of the course */
	assert_int_equal(e.steps, 8);
	assert_int_equal(e.events, 4);
	assert_int_equal(e.queue, 0);
	assert_int_equal(e.plans, 0);
	assert_int_equal(e.courses, 1);

	assert_int_equal(history_get_session(f->h, old, get_one,
					     &(struct session_copy){ 0 }),
			 -ENOENT);
	assert_int_equal(history_get_session(f->h, recent, get_one,
					     &(struct session_copy){ 0 }),
			 0);
	assert_int_equal(history_get_session(f->h, unfinished, get_one,
					     &(struct session_copy){ 0 }),
			 0);
	assert_int_equal(history_course_get(f->h, over, cut, copy_course,
					    &(struct history_course){ 0 }),
			 -ENOENT);
	assert_int_equal(count_rows(f->path,
				    "SELECT COUNT(*) FROM sessions WHERE"
				    " course_id IS NOT NULL"),
			 2);
	assert_int_equal(count_rows(f->path, "SELECT COUNT(*) FROM courses"),
			 2);
	assert_false(files_hold(f, "Course Over"));
	assert_true(files_hold(f, "Course Running"));

	/* Nothing more to expire at the same cut-off. */
	assert_int_equal(history_expire(f->h, cut, 0, &e), 0);
	assert_int_equal(e.sessions + e.courses, 0);
	assert_int_equal(history_expire(f->h, UINT64_MAX, 0, &e), -EINVAL);
}

static void test_expire_goes_in_steps_oldest_first(void **state)
{
	struct fixture *f = *state;
	struct history_erased e;
	uint64_t a, b, c, course;

	assert_int_equal(history_course_create(f->h, "Course Over", "neck",
					       1, 1, T0, &course),
			 0);
	c = recorded(f->h, "C", course, T0 + 2 * DAY);
	b = recorded(f->h, "B", 0, T0 + DAY);
	a = recorded(f->h, "A", 0, T0);
	/* Two at a time, the oldest first: more may follow. */
	assert_int_equal(history_expire(f->h, T0 + 10 * DAY, 2, &e), 0);
	assert_int_equal(e.sessions, 2);
	assert_int_equal(e.courses, 0);
	assert_int_equal(history_get_session(f->h, a, get_one,
					     &(struct session_copy){ 0 }),
			 -ENOENT);
	assert_int_equal(history_get_session(f->h, b, get_one,
					     &(struct session_copy){ 0 }),
			 -ENOENT);
	assert_int_equal(history_get_session(f->h, c, get_one,
					     &(struct session_copy){ 0 }),
			 0);
	/* The course goes with its last session. */
	assert_int_equal(history_expire(f->h, T0 + 10 * DAY, 2, &e), 0);
	assert_int_equal(e.sessions, 1);
	assert_int_equal(e.courses, 1);
	assert_int_equal(history_expire(f->h, T0 + 10 * DAY, 2, &e), 0);
	assert_int_equal(e.sessions + e.courses, 0);
}

static void test_newest_usec_is_the_latest_checkpoint(void **state)
{
	struct fixture *f = *state;
	uint64_t t = 99;

	assert_int_equal(history_newest_usec(f->h, &t), 0);
	assert_int_equal(t, 0);
	recorded(f->h, "A", 0, T0);
	recorded(f->h, "B", 0, T0 - DAY);
	assert_int_equal(history_newest_usec(f->h, &t), 0);
	assert_int_equal(t, T0 + 30 * SEC);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_creates_schema_and_reopen_keeps_data),
		T(test_journal_mode_is_wal),
		T(test_open_refuses_a_newer_schema),
		T(test_open_refuses_a_file_that_is_not_a_database),
		T(test_free_accepts_null_and_cleanup_frees),
		T(test_crash_mid_session_is_marked_interrupted_at_checkpoint),
		T(test_interrupted_session_keeps_steps_and_gets_an_event),
		T(test_steps_and_dose_round_trip),
		T(test_step_keeps_the_lowest_frequency_held),
		T(test_ended_session_refuses_checkpoint_and_second_end),
		T(test_pain_scores_are_validated),
		T(test_list_sessions_newest_first_since_and_limit),
		T(test_callback_error_stops_the_listing),
		T(test_csv_export_quotes_hostile_strings),
		T(test_json_export_escapes_hostile_strings),
		T(test_export_of_several_sessions_is_oldest_first),
		T(test_export_of_an_empty_history_is_valid),
		T(test_export_refuses_an_unknown_format),
		T(test_text_that_is_not_utf8_or_too_long_is_refused),
		T(test_bad_numbers_are_refused),
		T(test_queue_keeps_order_removes_and_pops_the_head),
		T(test_plans_add_list_update_and_remove),
		T(test_plan_needs_exactly_one_time),
		T(test_course_done_missed_due_across_days),
		T(test_course_with_longer_interval_and_extra_sessions),
		T(test_course_refuses_zero_sessions_or_interval),
		T(test_course_list_shows_every_course),
		T(test_course_dose_is_summed_per_site),
		T(test_unknown_ids_give_enoent),
		T(test_null_arguments_are_einval),
		T(test_callbacks_may_call_back_into_the_history),
		T(test_plan_list_visits_each_plan_once_while_they_change),
		T(test_erase_patient_removes_every_row_of_theirs_only),
		T(test_erase_patient_refuses_no_name),
		T(test_erase_patient_leaves_no_trace_in_the_file_or_wal),
		T(test_a_crash_mid_erase_leaves_all_or_nothing),
		T(test_expire_removes_what_ended_before_the_cutoff),
		T(test_expire_goes_in_steps_oldest_first),
		T(test_newest_usec_is_the_latest_checkpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
