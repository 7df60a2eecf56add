// SPDX-License-Identifier: MIT
/*
 * history.c - the treatment history, queue, plans and courses in SQLite.
 *
 * Every statement is prepared with bound parameters: no SQL is ever built
 * from what a client sent.  Where several rows change together they change
 * in one transaction.  Nothing here logs; errors go back as negative errno
 * and history_errmsg() has SQLite's words for the caller's log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "history.h"
#include "macro.h"

#define USEC_PER_DAY (86400ull * USEC_PER_SEC)
/* Bounds that keep every sum below INT64_MAX, SQLite's integer range. */
#define HISTORY_USEC_MAX ((uint64_t)INT64_MAX)
#define COURSE_START_USEC_MAX (1ull << 62)
#define COURSE_SESSIONS_MAX 10000u
#define COURSE_INTERVAL_DAYS_MAX 3650u
#define DOSE_MAX 1e12
/*
 * Only another writer (an administrator's sqlite3 shell) can hold us up,
 * since WAL readers never block; wait for it a little, not long: the
 * caller is the daemon's main loop.
 */
#define BUSY_TIMEOUT_MSEC 1000
/* After a checkpoint, cut the -wal file back to this (SD card space). */
#define WAL_SIZE_LIMIT "4194304"

struct history {
	sqlite3 *db;
	history_erase_hook erase_hook;	/* tests only */
	void *erase_hook_data;
};

/*
 * The schema, one script per version: migrations[v] takes a database
 * from user_version v to v + 1, in one transaction with the version bump.
 * A new version appends a script (ALTER TABLE ...); never edit one that
 * has shipped.
 *
 * AUTOINCREMENT so that an id is never reused: a client holding the id of
 * a removed queue entry or plan must get "no such id", not another row.
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE courses ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  patient TEXT NOT NULL,"
	"  program TEXT NOT NULL,"
	"  sessions INTEGER NOT NULL CHECK (sessions > 0),"
	"  interval_days INTEGER NOT NULL CHECK (interval_days > 0),"
	"  start_usec INTEGER NOT NULL);"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  program TEXT NOT NULL,"
	"  program_title TEXT NOT NULL DEFAULT '',"
	"  patient TEXT NOT NULL DEFAULT '',"
	"  course_id INTEGER REFERENCES courses(id),"
	"  manual_freq_mhz INTEGER NOT NULL DEFAULT 0,"
	"  started_usec INTEGER NOT NULL,"
	"  ended_usec INTEGER,"
	"  last_update_usec INTEGER NOT NULL,"
	"  outcome TEXT NOT NULL DEFAULT 'running' CHECK (outcome IN"
	"    ('running', 'completed', 'stopped', 'estopped', 'fault',"
	"     'interrupted')),"
	"  contact_usec INTEGER NOT NULL DEFAULT 0,"
	"  dose REAL NOT NULL DEFAULT 0,"
	"  pain_before INTEGER CHECK (pain_before BETWEEN 0 AND 10),"
	"  pain_after INTEGER CHECK (pain_after BETWEEN 0 AND 10));"
	"CREATE INDEX sessions_started ON sessions(started_usec);"
	"CREATE INDEX sessions_course ON sessions(course_id);"
	"CREATE INDEX sessions_running ON sessions(outcome)"
	"  WHERE outcome = 'running';"
	"CREATE TABLE steps ("
	"  session_id INTEGER NOT NULL REFERENCES sessions(id)"
	"    ON DELETE CASCADE,"
	"  step INTEGER NOT NULL,"
	"  site TEXT NOT NULL,"
	"  freq_mhz INTEGER NOT NULL,"
	"  contact_usec INTEGER NOT NULL,"
	"  dose REAL NOT NULL,"
	"  outcome TEXT NOT NULL,"
	"  PRIMARY KEY (session_id, step)) WITHOUT ROWID;"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id INTEGER NOT NULL REFERENCES sessions(id)"
	"    ON DELETE CASCADE,"
	"  usec INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  text TEXT NOT NULL);"
	"CREATE INDEX events_session ON events(session_id, usec);"
	"CREATE TABLE queue ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  program TEXT NOT NULL,"
	"  patient TEXT NOT NULL,"
	"  course_id INTEGER REFERENCES courses(id),"
	"  planned_at_usec INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE plans ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  program TEXT NOT NULL,"
	"  patient TEXT NOT NULL,"
	"  course_id INTEGER REFERENCES courses(id),"
	"  when_minutes INTEGER CHECK (when_minutes BETWEEN 0 AND 1439),"
	"  when_usec INTEGER,"
	"  daily INTEGER NOT NULL CHECK (daily IN (0, 1)),"
	"  next_due_usec INTEGER NOT NULL);",
	/* 1 -> 2: the frequency a step held when its target was out of
	 * the motor's reach (0: the target was held)
	 */
	"ALTER TABLE steps ADD COLUMN held_freq_mhz INTEGER NOT NULL"
	"  DEFAULT 0;",
};

_Static_assert(ARRAY_SIZE(migrations) == HISTORY_SCHEMA_VERSION,
	       "one migration per schema version");

static void sqlite3_finalizep(sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}

/* SQLite's result code as a negative errno. */
static int sqlite_errno(sqlite3 *db, int rc)
{
	int e;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
		e = db ? sqlite3_system_errno(db) : 0;
		return e > 0 ? -e : -EIO;
	default:
		return -EIO;
	}
}

/* Length of the valid UTF-8 sequence at @s, 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)	/* overlong */
			return 0;
		if (c == 0xed && s[1] >= 0xa0)	/* UTF-16 surrogate */
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)	/* overlong */
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)	/* above U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

/* Text we store: UTF-8 (JSON export needs it), at most HISTORY_TEXT_MAX. */
static bool text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (!s || strnlen(s, HISTORY_TEXT_MAX + 1) > HISTORY_TEXT_MAX)
		return false;
	while (*p) {
		n = utf8_seq_len(p);
		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

static bool name_ok(const char *s)
{
	return text_ok(s) && s[0] != '\0';
}

static bool usec_ok(uint64_t usec)
{
	return usec <= HISTORY_USEC_MAX;
}

static bool dose_ok(double dose)
{
	return isfinite(dose) && dose >= 0 && dose <= DOSE_MAX;
}

/* Ids are SQLite rowids: 1..INT64_MAX; anything else names nothing. */
static bool id_ok(uint64_t id)
{
	return id > 0 && id <= HISTORY_USEC_MAX;
}

static int prepare(struct history *h, const char *sql, sqlite3_stmt **ret)
{
	return sqlite_errno(h->db,
			    sqlite3_prepare_v2(h->db, sql, -1, ret, NULL));
}

/* Run a statement that returns no rows. */
static int step_done(struct history *h, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_ROW)
		return -EINVAL;
	return sqlite_errno(h->db, rc);
}

/* SQLITE_ROW: 1, SQLITE_DONE: 0, else a negative errno. */
static int step_row(struct history *h, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sqlite_errno(h->db, rc);
}

/* Fixed SQL only: never anything built from input. */
static int exec(struct history *h, const char *sql)
{
	return sqlite_errno(h->db, sqlite3_exec(h->db, sql, NULL, NULL, NULL));
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/* 0 (none) is stored as NULL so that the foreign key holds. */
static int bind_id_or_null(sqlite3_stmt *st, int i, uint64_t id)
{
	return id ? bind_u64(st, i, id) : sqlite3_bind_null(st, i);
}

static const char *column_text(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? (const char *)s : "";
}

static uint64_t column_u64(sqlite3_stmt *st, int i)
{
	sqlite3_int64 v = sqlite3_column_int64(st, i);

	return v > 0 ? (uint64_t)v : 0;
}

static int column_int_or(sqlite3_stmt *st, int i, int null_value)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return null_value;
	return sqlite3_column_int(st, i);
}

/*
 * Transactions: tx_begin() then, on every early return, the cleanup
 * rolls back; tx_commit() disarms it.
 *
 *	_cleanup_(tx_rollbackp) struct tx tx = {};
 *	r = tx_begin(h, &tx);
 *
 * Callbacks run inside our transactions and may call back into us (a
 * course looked up while the queue is popped, a list inside a list), so a
 * transaction begun inside another is a SAVEPOINT: it commits or rolls
 * back its own part only.
 */
struct tx {
	struct history *h;	/* NULL: nothing to roll back */
	bool savepoint;
};

static void tx_rollbackp(struct tx *tx)
{
	if (!tx->h)
		return;
	sqlite3_exec(tx->h->db,
		     tx->savepoint ? "ROLLBACK TO history; RELEASE history" :
				     "ROLLBACK",
		     NULL, NULL, NULL);
}

static int tx_start(struct history *h, struct tx *tx, const char *begin)
{
	bool nested = !sqlite3_get_autocommit(h->db);
	int r;

	r = exec(h, nested ? "SAVEPOINT history" : begin);
	if (r < 0)
		return r;
	*tx = (struct tx) { .h = h, .savepoint = nested };
	return 0;
}

/* IMMEDIATE: take the write lock now, not halfway through. */
static int tx_begin(struct history *h, struct tx *tx)
{
	return tx_start(h, tx, "BEGIN IMMEDIATE");
}

/* A read transaction: one consistent snapshot for several SELECTs. */
static int tx_begin_read(struct history *h, struct tx *tx)
{
	return tx_start(h, tx, "BEGIN DEFERRED");
}

static int tx_commit(struct tx *tx)
{
	int r = exec(tx->h, tx->savepoint ? "RELEASE history" : "COMMIT");

	if (r < 0)
		return r;
	tx->h = NULL;
	return 0;
}

/* 0 when row @id exists in @table_sql's SELECT, -ENOENT when not. */
static int row_exists(struct history *h, const char *sql, uint64_t id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!id_ok(id))
		return -ENOENT;
	r = prepare(h, sql, &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, id);
	r = step_row(h, st);
	if (r < 0)
		return r;
	return r ? 0 : -ENOENT;
}

static int session_exists(struct history *h, uint64_t id)
{
	return row_exists(h, "SELECT 1 FROM sessions WHERE id = ?1", id);
}

static int course_exists(struct history *h, uint64_t id)
{
	return row_exists(h, "SELECT 1 FROM courses WHERE id = ?1", id);
}

/* A course id from a caller: 0 (none) or an existing course. */
static int course_ref_ok(struct history *h, uint64_t course_id)
{
	return course_id ? course_exists(h, course_id) : 0;
}

static int pragma_int(struct history *h, const char *sql, int *ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	r = prepare(h, sql, &st);
	if (r < 0)
		return r;
	r = step_row(h, st);
	if (r < 0)
		return r;
	if (r == 0)
		return -EIO;
	*ret = sqlite3_column_int(st, 0);
	return 0;
}

static int migrate(struct history *h)
{
	int version, r;

	r = pragma_int(h, "PRAGMA user_version", &version);
	if (r < 0)
		return r;
	if (version < 0 || version > HISTORY_SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	while (version < HISTORY_SCHEMA_VERSION) {
		_cleanup_(tx_rollbackp) struct tx tx = {};
		char sql[64];

		r = tx_begin(h, &tx);
		if (r < 0)
			return r;
		/* Another process may have migrated meanwhile. */
		r = pragma_int(h, "PRAGMA user_version", &version);
		if (r < 0)
			return r;
		if (version >= HISTORY_SCHEMA_VERSION)
			break;
		r = exec(h, migrations[version]);
		if (r < 0)
			return r;
		/* A PRAGMA takes no parameters; the number is ours. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 version + 1);
		r = exec(h, sql);
		if (r < 0)
			return r;
		r = tx_commit(&tx);
		if (r < 0)
			return r;
		version++;
	}
	return 0;
}

/*
 * Copy every frame of the WAL into the database and truncate the -wal
 * file to nothing: the frames hold the pages as they were before each
 * commit, deleted rows included.  -EAGAIN when a reader of an older
 * snapshot kept it from completing.
 */
static int wal_scrub(struct history *h)
{
	int rc, log = -1, done = -1;

	rc = sqlite3_wal_checkpoint_v2(h->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
				       &log, &done);
	if ((rc & 0xff) == SQLITE_BUSY || (rc == SQLITE_OK && log != done))
		return -EAGAIN;
	return sqlite_errno(h->db, rc);
}

int history_open(struct history **ret, const char *path)
{
	_cleanup_(history_freep) struct history *h = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int fd, rc, r;

	if (!ret || !path || !path[0])
		return -EINVAL;
	/*
	 * Patient data: create the file 0600 before SQLite does (it would
	 * follow the umask); its -wal and -shm files take the same mode.
	 */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	close(fd);

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &h->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK)
		return h->db ? sqlite_errno(h->db, rc) : -ENOMEM;
	sqlite3_extended_result_codes(h->db, 1);
	/* No schema tricks from a tampered file. */
	sqlite3_db_config(h->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(h->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_busy_timeout(h->db, BUSY_TIMEOUT_MSEC);

	r = exec(h, "PRAGMA foreign_keys = ON");
	if (r < 0)
		return r;
	/*
	 * WAL: a commit appends to the log instead of rewriting pages, so the
	 * checkpoint once a second is cheap, and readers do not block it.
	 */
	r = prepare(h, "PRAGMA journal_mode = WAL", &st);
	if (r < 0)
		return r;
	r = step_row(h, st);
	if (r < 0)
		return r;
	if (r == 0 || strcmp(column_text(st, 0), "wal") != 0)
		return -EOPNOTSUPP;
	sqlite3_finalize(st);
	st = NULL;
	/*
	 * FULL, not WAL's usual NORMAL: NORMAL syncs the log only at
	 * checkpoints, so a power cut can lose every commit since the last
	 * one, many seconds of a session.  FULL syncs the log on each commit:
	 * one fsync a second for a record of treatment is cheap.
	 */
	r = exec(h, "PRAGMA synchronous = FULL");
	if (r < 0)
		return r;
	r = exec(h, "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT);
	if (r < 0)
		return r;
	/*
	 * Patient data that is deleted or updated (the checkpoint once a
	 * second rewrites the session's row) leaves no copy in the free
	 * space of a page: SQLite zeroes what it frees.
	 */
	r = exec(h, "PRAGMA secure_delete = ON");
	if (r < 0)
		return r;
	r = migrate(h);
	if (r < 0)
		return r;
	/*
	 * An erase that a crash cut short after its commit left the old
	 * copies of the rows in the -wal file: scrub them now.  A reader
	 * holding an old snapshot may keep it from completing; the next
	 * erase or expiry tries again.
	 */
	(void)wal_scrub(h);

	*ret = h;
	h = NULL;
	return 0;
}

struct history *history_free(struct history *h)
{
	if (!h)
		return NULL;
	sqlite3_close_v2(h->db);
	free(h);
	return NULL;
}

const char *history_errmsg(const struct history *h)
{
	if (!h || !h->db)
		return "no history database";
	return sqlite3_errmsg(h->db);
}

bool history_outcome_is_valid(const char *outcome)
{
	static const char *const outcomes[] = {
		HISTORY_OUTCOME_COMPLETED, HISTORY_OUTCOME_STOPPED,
		HISTORY_OUTCOME_ESTOPPED,  HISTORY_OUTCOME_FAULT,
		HISTORY_OUTCOME_INTERRUPTED,
	};
	size_t i;

	if (!outcome)
		return false;
	for (i = 0; i < ARRAY_SIZE(outcomes); i++)
		if (strcmp(outcome, outcomes[i]) == 0)
			return true;
	return false;
}

int history_mark_interrupted(struct history *h, uint64_t now_usec,
			     unsigned int *ret_n)
{
	_cleanup_(tx_rollbackp) struct tx tx = {};
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *ev = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *steps = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *up = NULL;
	int n, r;

	if (!h || !usec_ok(now_usec))
		return -EINVAL;
	r = tx_begin(h, &tx);
	if (r < 0)
		return r;
	r = prepare(h,
		    "INSERT INTO events (session_id, usec, kind, text)"
		    " SELECT id, ?1, 'interrupted', 'massaged stopped during"
		    " the session (crash or power loss); totals as of the last"
		    " checkpoint' FROM sessions WHERE outcome = 'running'",
		    &ev);
	if (r < 0)
		return r;
	bind_u64(ev, 1, now_usec);
	r = step_done(h, ev);
	if (r < 0)
		return r;
	r = prepare(h,
		    "UPDATE steps SET outcome = 'interrupted'"
		    " WHERE outcome = 'running' AND session_id IN"
		    " (SELECT id FROM sessions WHERE outcome = 'running')",
		    &steps);
	if (r < 0)
		return r;
	r = step_done(h, steps);
	if (r < 0)
		return r;
	r = prepare(h,
		    "UPDATE sessions SET outcome = 'interrupted',"
		    " ended_usec = last_update_usec WHERE outcome = 'running'",
		    &up);
	if (r < 0)
		return r;
	r = step_done(h, up);
	if (r < 0)
		return r;
	n = sqlite3_changes(h->db);
	r = tx_commit(&tx);
	if (r < 0)
		return r;
	if (ret_n)
		*ret_n = (unsigned int)n;
	return 0;
}

int history_session_begin(struct history *h,
			  const struct history_session_start *s,
			  uint64_t *ret_id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !s || !name_ok(s->program) || !text_ok(s->program_title) ||
	    !text_ok(s->patient) || !usec_ok(s->started_usec) ||
	    s->pain_before < -1 || s->pain_before > 10)
		return -EINVAL;
	r = course_ref_ok(h, s->course_id);
	if (r < 0)
		return r;
	r = prepare(h,
		    "INSERT INTO sessions (program, program_title, patient,"
		    " course_id, manual_freq_mhz, started_usec,"
		    " last_update_usec, pain_before)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
		    &st);
	if (r < 0)
		return r;
	bind_text(st, 1, s->program);
	bind_text(st, 2, s->program_title);
	bind_text(st, 3, s->patient);
	bind_id_or_null(st, 4, s->course_id);
	sqlite3_bind_int64(st, 5, s->manual_freq_mhz);
	bind_u64(st, 6, s->started_usec);
	if (s->pain_before >= 0)
		sqlite3_bind_int(st, 7, s->pain_before);
	r = step_done(h, st);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = (uint64_t)sqlite3_last_insert_rowid(h->db);
	return 0;
}

/* After an UPDATE ... WHERE outcome = 'running' that changed nothing. */
static int session_not_running(struct history *h, uint64_t id)
{
	int r = session_exists(h, id);

	return r < 0 ? r : -ESTALE;
}

int history_session_checkpoint(struct history *h, uint64_t id,
			       uint64_t contact_usec, double dose_ms2s,
			       uint64_t now_usec)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !usec_ok(contact_usec) || !dose_ok(dose_ms2s) ||
	    !usec_ok(now_usec))
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	r = prepare(h,
		    "UPDATE sessions SET contact_usec = ?2, dose = ?3,"
		    " last_update_usec = ?4"
		    " WHERE id = ?1 AND outcome = 'running'",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, id);
	bind_u64(st, 2, contact_usec);
	sqlite3_bind_double(st, 3, dose_ms2s);
	bind_u64(st, 4, now_usec);
	r = step_done(h, st);
	if (r < 0)
		return r;
	if (sqlite3_changes(h->db) == 0)
		return session_not_running(h, id);
	return 0;
}

int history_step_put(struct history *h, uint64_t session_id,
		     unsigned int step, const char *site, uint32_t freq_mhz,
		     uint64_t contact_usec, double dose_ms2s,
		     const char *outcome)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !text_ok(site) || !usec_ok(contact_usec) ||
	    !dose_ok(dose_ms2s) || !name_ok(outcome))
		return -EINVAL;
	r = session_exists(h, session_id);
	if (r < 0)
		return r;
	r = prepare(h,
		    "INSERT INTO steps (session_id, step, site, freq_mhz,"
		    " contact_usec, dose, outcome)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		    " ON CONFLICT (session_id, step) DO UPDATE SET"
		    " site = excluded.site, freq_mhz = excluded.freq_mhz,"
		    " contact_usec = excluded.contact_usec,"
		    " dose = excluded.dose, outcome = excluded.outcome",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, session_id);
	sqlite3_bind_int64(st, 2, step);
	bind_text(st, 3, site);
	sqlite3_bind_int64(st, 4, freq_mhz);
	bind_u64(st, 5, contact_usec);
	sqlite3_bind_double(st, 6, dose_ms2s);
	bind_text(st, 7, outcome);
	return step_done(h, st);
}

int history_step_set_held(struct history *h, uint64_t session_id,
			  unsigned int step, uint32_t held_mhz)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !held_mhz || held_mhz > INT32_MAX)
		return -EINVAL;
	r = prepare(h,
		    "UPDATE steps SET held_freq_mhz = ?3"
		    " WHERE session_id = ?1 AND step = ?2"
		    " AND (held_freq_mhz = 0 OR held_freq_mhz > ?3)",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, session_id);
	sqlite3_bind_int64(st, 2, step);
	sqlite3_bind_int64(st, 3, held_mhz);
	r = step_done(h, st);
	if (r < 0)
		return r;
	return 0;
}

int history_event_add(struct history *h, uint64_t session_id,
		      uint64_t usec, const char *kind, const char *text)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !usec_ok(usec) || !name_ok(kind) || !text_ok(text))
		return -EINVAL;
	r = session_exists(h, session_id);
	if (r < 0)
		return r;
	r = prepare(h,
		    "INSERT INTO events (session_id, usec, kind, text)"
		    " VALUES (?1, ?2, ?3, ?4)",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, session_id);
	bind_u64(st, 2, usec);
	bind_text(st, 3, kind);
	bind_text(st, 4, text);
	return step_done(h, st);
}

int history_session_end(struct history *h, uint64_t id, uint64_t ended_usec,
			const char *outcome, uint64_t contact_usec,
			double dose_ms2s)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !usec_ok(ended_usec) || !history_outcome_is_valid(outcome) ||
	    !usec_ok(contact_usec) || !dose_ok(dose_ms2s))
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	r = prepare(h,
		    "UPDATE sessions SET ended_usec = ?2, outcome = ?3,"
		    " contact_usec = ?4, dose = ?5, last_update_usec = ?2"
		    " WHERE id = ?1 AND outcome = 'running'",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, id);
	bind_u64(st, 2, ended_usec);
	bind_text(st, 3, outcome);
	bind_u64(st, 4, contact_usec);
	sqlite3_bind_double(st, 5, dose_ms2s);
	r = step_done(h, st);
	if (r < 0)
		return r;
	if (sqlite3_changes(h->db) == 0)
		return session_not_running(h, id);
	return 0;
}

int history_set_pain(struct history *h, uint64_t id, const char *when,
		     int score)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	const char *sql;
	int r;

	if (!h || !when || score < 0 || score > 10)
		return -EINVAL;
	/* Two fixed statements: a column name cannot be a parameter. */
	if (strcmp(when, "before") == 0)
		sql = "UPDATE sessions SET pain_before = ?2 WHERE id = ?1";
	else if (strcmp(when, "after") == 0)
		sql = "UPDATE sessions SET pain_after = ?2 WHERE id = ?1";
	else
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	r = prepare(h, sql, &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, id);
	sqlite3_bind_int(st, 2, score);
	r = step_done(h, st);
	if (r < 0)
		return r;
	return sqlite3_changes(h->db) ? 0 : -ENOENT;
}

#define SESSION_COLUMNS                                                     \
	"id, program, program_title, patient, course_id, manual_freq_mhz," \
	" started_usec, ended_usec, last_update_usec, outcome,"            \
	" contact_usec, dose, pain_before, pain_after"

static void session_from_row(sqlite3_stmt *st, struct history_session *s)
{
	*s = (struct history_session) {
		.id = column_u64(st, 0),
		.program = column_text(st, 1),
		.program_title = column_text(st, 2),
		.patient = column_text(st, 3),
		.course_id = column_u64(st, 4),
		.manual_freq_mhz = (uint32_t)column_u64(st, 5),
		.started_usec = column_u64(st, 6),
		.ended_usec = column_u64(st, 7),
		.last_update_usec = column_u64(st, 8),
		.outcome = column_text(st, 9),
		.contact_usec = column_u64(st, 10),
		.dose_ms2s = sqlite3_column_double(st, 11),
		.pain_before = column_int_or(st, 12, -1),
		.pain_after = column_int_or(st, 13, -1),
	};
}

/* Hand every row of a prepared session SELECT to @cb. */
static int sessions_foreach(struct history *h, sqlite3_stmt *st,
			    history_session_cb cb, void *userdata)
{
	struct history_session s;
	int r;

	for (;;) {
		r = step_row(h, st);
		if (r <= 0)
			return r;
		session_from_row(st, &s);
		r = cb(&s, userdata);
		if (r < 0)
			return r;
	}
}

int history_list_sessions(struct history *h, uint64_t since_usec,
			  unsigned int limit, history_session_cb cb,
			  void *userdata)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !cb)
		return -EINVAL;
	/* A since beyond any time we store matches nothing. */
	if (!usec_ok(since_usec))
		return 0;
	r = prepare(h,
		    "SELECT " SESSION_COLUMNS " FROM sessions"
		    " WHERE started_usec >= ?1"
		    " ORDER BY started_usec DESC, id DESC LIMIT ?2",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, since_usec);
	sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
	return sessions_foreach(h, st, cb, userdata);
}

int history_get_session(struct history *h, uint64_t id, history_session_cb cb,
			void *userdata)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct history_session s;
	int r;

	if (!h || !cb)
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	r = prepare(h, "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?1",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, id);
	r = step_row(h, st);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	session_from_row(st, &s);
	return cb(&s, userdata);
}

int history_list_steps(struct history *h, uint64_t session_id,
		       history_step_cb cb, void *userdata)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct history_step s;
	int r;

	if (!h || !cb)
		return -EINVAL;
	r = session_exists(h, session_id);
	if (r < 0)
		return r;
	r = prepare(h,
		    "SELECT step, site, freq_mhz, contact_usec, dose, outcome,"
		    " held_freq_mhz"
		    " FROM steps WHERE session_id = ?1 ORDER BY step",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, session_id);
	for (;;) {
		r = step_row(h, st);
		if (r <= 0)
			return r;
		s = (struct history_step) {
			.session_id = session_id,
			.step = (unsigned int)column_u64(st, 0),
			.site = column_text(st, 1),
			.freq_mhz = (uint32_t)column_u64(st, 2),
			.contact_usec = column_u64(st, 3),
			.dose_ms2s = sqlite3_column_double(st, 4),
			.outcome = column_text(st, 5),
			.held_freq_mhz = (uint32_t)column_u64(st, 6),
		};
		r = cb(&s, userdata);
		if (r < 0)
			return r;
	}
}

int history_list_events(struct history *h, uint64_t session_id,
			history_event_cb cb, void *userdata)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct history_event e;
	int r;

	if (!h || !cb)
		return -EINVAL;
	r = session_exists(h, session_id);
	if (r < 0)
		return r;
	r = prepare(h,
		    "SELECT usec, kind, text FROM events WHERE session_id = ?1"
		    " ORDER BY usec, id",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, session_id);
	for (;;) {
		r = step_row(h, st);
		if (r <= 0)
			return r;
		e = (struct history_event) {
			.session_id = session_id,
			.usec = column_u64(st, 0),
			.kind = column_text(st, 1),
			.text = column_text(st, 2),
		};
		r = cb(&e, userdata);
		if (r < 0)
			return r;
	}
}

/*
 * Export.  Numbers are printed with integer arithmetic so that the text
 * does not depend on the locale (a "," decimal point would break both
 * formats).
 */

/* @v with three decimals: "12.345". */
static void put_milli(FILE *f, double v)
{
	uint64_t m = (uint64_t)llround(v * 1000.0);

	fprintf(f, "%" PRIu64 ".%03u", m / 1000, (unsigned int)(m % 1000));
}

/* mHz as Hz with three decimals. */
static void put_mhz(FILE *f, uint32_t mhz)
{
	fprintf(f, "%" PRIu32 ".%03" PRIu32, mhz / 1000, mhz % 1000);
}

/*
 * One CSV text field (RFC 4180): quoted when it holds a comma, a quote or
 * a line break, quotes doubled.  A field that begins with = + - @ tab or
 * CR gets a leading apostrophe, so that a spreadsheet shows a hostile
 * patient name as text instead of running it as a formula.
 */
static void csv_text(FILE *f, const char *s)
{
	bool guard = s[0] && strchr("=+-@\t\r", s[0]);
	const char *p;

	if (!guard && !strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	if (guard)
		fputc('\'', f);
	for (p = s; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

#define CSV_HEADER                                                          \
	"record,session,program,title,patient,course,started_usec,"         \
	"ended_usec,outcome,contact_usec,dose,pain_before,pain_after,step," \
	"site,frequency_hz,event_usec,kind,text\r\n"

struct export {
	struct history *h;
	FILE *f;
	bool json;
	bool first;	/* JSON: no comma before the first element */
};

static int csv_step(const struct history_step *s, void *userdata)
{
	FILE *f = ((struct export *)userdata)->f;

	fprintf(f, "step,%" PRIu64 ",,,,,,,", s->session_id);
	csv_text(f, s->outcome);
	fprintf(f, ",%" PRIu64 ",", s->contact_usec);
	put_milli(f, s->dose_ms2s);
	fprintf(f, ",,,%u,", s->step);
	csv_text(f, s->site);
	fputc(',', f);
	put_mhz(f, s->freq_mhz);
	fputs(",,,\r\n", f);
	return 0;
}

static int csv_event(const struct history_event *e, void *userdata)
{
	FILE *f = ((struct export *)userdata)->f;

	fprintf(f, "event,%" PRIu64 ",,,,,,,,,,,,,,,%" PRIu64 ",",
		e->session_id, e->usec);
	csv_text(f, e->kind);
	fputc(',', f);
	csv_text(f, e->text);
	fputs("\r\n", f);
	return 0;
}

static void csv_optional_int(FILE *f, int v)
{
	if (v >= 0)
		fprintf(f, "%d", v);
}

static int csv_session(const struct history_session *s, void *userdata)
{
	struct export *x = userdata;
	FILE *f = x->f;
	int r;

	fprintf(f, "session,%" PRIu64 ",", s->id);
	csv_text(f, s->program);
	fputc(',', f);
	csv_text(f, s->program_title);
	fputc(',', f);
	csv_text(f, s->patient);
	fputc(',', f);
	if (s->course_id)
		fprintf(f, "%" PRIu64, s->course_id);
	fprintf(f, ",%" PRIu64 ",", s->started_usec);
	if (s->ended_usec)
		fprintf(f, "%" PRIu64, s->ended_usec);
	fputc(',', f);
	csv_text(f, s->outcome);
	fprintf(f, ",%" PRIu64 ",", s->contact_usec);
	put_milli(f, s->dose_ms2s);
	fputc(',', f);
	csv_optional_int(f, s->pain_before);
	fputc(',', f);
	csv_optional_int(f, s->pain_after);
	fputs(",,,", f);
	if (s->manual_freq_mhz)
		put_mhz(f, s->manual_freq_mhz);
	fputs(",,,\r\n", f);

	r = history_list_steps(x->h, s->id, csv_step, x);
	if (r < 0)
		return r;
	return history_list_events(x->h, s->id, csv_event, x);
}

/*
 * A JSON string: quotes, backslashes and control characters escaped,
 * UTF-8 passed through; a byte that is not UTF-8 (only a database edited
 * by hand can hold one) becomes U+FFFD so the output stays valid JSON.
 */
static void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	fputc('"', f);
	while (*p) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				fprintf(f, "\\u%04x", *p);
				break;
			}
			n = utf8_seq_len(p);
			if (n == 0) {
				fputs("\\ufffd", f);
				break;
			}
			fwrite(p, 1, n, f);
			p += n - 1;
			break;
		}
		p++;
	}
	fputc('"', f);
}

static void json_key(FILE *f, const char *key)
{
	fprintf(f, "\"%s\":", key);
}

static void json_optional_int(FILE *f, int v)
{
	if (v >= 0)
		fprintf(f, "%d", v);
	else
		fputs("null", f);
}

static void json_separator(struct export *x)
{
	if (!x->first)
		fputc(',', x->f);
	x->first = false;
}

static int json_step(const struct history_step *s, void *userdata)
{
	struct export *x = userdata;
	FILE *f = x->f;

	json_separator(x);
	fprintf(f, "{\"step\":%u,", s->step);
	json_key(f, "site");
	json_string(f, s->site);
	fputc(',', f);
	json_key(f, "frequency_hz");
	put_mhz(f, s->freq_mhz);
	if (s->held_freq_mhz) {
		fputc(',', f);
		json_key(f, "held_frequency_hz");
		put_mhz(f, s->held_freq_mhz);
	}
	fprintf(f, ",\"contact_usec\":%" PRIu64 ",", s->contact_usec);
	json_key(f, "dose");
	put_milli(f, s->dose_ms2s);
	fputc(',', f);
	json_key(f, "outcome");
	json_string(f, s->outcome);
	fputc('}', f);
	return 0;
}

static int json_event(const struct history_event *e, void *userdata)
{
	struct export *x = userdata;
	FILE *f = x->f;

	json_separator(x);
	fprintf(f, "{\"usec\":%" PRIu64 ",", e->usec);
	json_key(f, "kind");
	json_string(f, e->kind);
	fputc(',', f);
	json_key(f, "text");
	json_string(f, e->text);
	fputc('}', f);
	return 0;
}

static int json_session(const struct history_session *s, void *userdata)
{
	struct export *x = userdata;
	FILE *f = x->f;
	int r;

	json_separator(x);
	fprintf(f, "\n{\"id\":%" PRIu64 ",", s->id);
	json_key(f, "program");
	json_string(f, s->program);
	fputc(',', f);
	json_key(f, "title");
	json_string(f, s->program_title);
	fputc(',', f);
	json_key(f, "patient");
	json_string(f, s->patient);
	fputc(',', f);
	json_key(f, "course");
	if (s->course_id)
		fprintf(f, "%" PRIu64, s->course_id);
	else
		fputs("null", f);
	fputc(',', f);
	json_key(f, "manual_frequency_hz");
	if (s->manual_freq_mhz)
		put_mhz(f, s->manual_freq_mhz);
	else
		fputs("null", f);
	fprintf(f, ",\"started_usec\":%" PRIu64 ",", s->started_usec);
	json_key(f, "ended_usec");
	if (s->ended_usec)
		fprintf(f, "%" PRIu64, s->ended_usec);
	else
		fputs("null", f);
	fputc(',', f);
	json_key(f, "outcome");
	json_string(f, s->outcome);
	fprintf(f, ",\"contact_usec\":%" PRIu64 ",", s->contact_usec);
	json_key(f, "dose");
	put_milli(f, s->dose_ms2s);
	fputc(',', f);
	json_key(f, "pain_before");
	json_optional_int(f, s->pain_before);
	fputc(',', f);
	json_key(f, "pain_after");
	json_optional_int(f, s->pain_after);
	fputs(",\"steps\":[", f);
	x->first = true;
	r = history_list_steps(x->h, s->id, json_step, x);
	if (r < 0)
		return r;
	fputs("],\"events\":[", f);
	x->first = true;
	r = history_list_events(x->h, s->id, json_event, x);
	if (r < 0)
		return r;
	fputs("]}", f);
	/* The next session is not the first of the outer array. */
	x->first = false;
	return 0;
}

int history_export(struct history *h, const char *format, uint64_t since_usec,
		   char **ret_text)
{
	_cleanup_(tx_rollbackp) struct tx tx = {};
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	_cleanup_(freep) char *buf = NULL;
	struct export x = { .h = h, .first = true };
	size_t size = 0;
	int r;

	if (!h || !format || !ret_text)
		return -EINVAL;
	if (strcmp(format, "json") == 0)
		x.json = true;
	else if (strcmp(format, "csv") != 0)
		return -EINVAL;
	if (!usec_ok(since_usec))
		since_usec = HISTORY_USEC_MAX;

	x.f = open_memstream(&buf, &size);
	if (!x.f)
		return -ENOMEM;
	r = tx_begin_read(h, &tx);
	if (r < 0)
		goto out;
	r = prepare(h,
		    "SELECT " SESSION_COLUMNS " FROM sessions"
		    " WHERE started_usec >= ?1 ORDER BY started_usec, id",
		    &st);
	if (r < 0)
		goto out;
	bind_u64(st, 1, since_usec);
	if (x.json) {
		fprintf(x.f, "{\"format\":\"massaged-history\",\"version\":%d,"
			"\"sessions\":[", HISTORY_SCHEMA_VERSION);
		r = sessions_foreach(h, st, json_session, &x);
		fputs("\n]}\n", x.f);
	} else {
		fputs(CSV_HEADER, x.f);
		r = sessions_foreach(h, st, csv_session, &x);
	}
	if (r < 0)
		goto out;
	r = tx_commit(&tx);
out:
	if (fclose(x.f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0)
		return r;
	*ret_text = buf;
	buf = NULL;
	return 0;
}

/* Queue */

static int remove_by_id(struct history *h, const char *sql, uint64_t id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h)
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	r = prepare(h, sql, &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, id);
	r = step_done(h, st);
	if (r < 0)
		return r;
	return sqlite3_changes(h->db) ? 0 : -ENOENT;
}

int history_queue_add(struct history *h, const char *program,
		      const char *patient, uint64_t course_id,
		      uint64_t planned_at_usec, uint64_t *ret_id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !name_ok(program) || !text_ok(patient) ||
	    !usec_ok(planned_at_usec))
		return -EINVAL;
	r = course_ref_ok(h, course_id);
	if (r < 0)
		return r;
	r = prepare(h,
		    "INSERT INTO queue (program, patient, course_id,"
		    " planned_at_usec) VALUES (?1, ?2, ?3, ?4)",
		    &st);
	if (r < 0)
		return r;
	bind_text(st, 1, program);
	bind_text(st, 2, patient);
	bind_id_or_null(st, 3, course_id);
	bind_u64(st, 4, planned_at_usec);
	r = step_done(h, st);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = (uint64_t)sqlite3_last_insert_rowid(h->db);
	return 0;
}

static void queue_from_row(sqlite3_stmt *st, struct history_queue_entry *e)
{
	*e = (struct history_queue_entry) {
		.id = column_u64(st, 0),
		.program = column_text(st, 1),
		.patient = column_text(st, 2),
		.course_id = column_u64(st, 3),
		.planned_at_usec = column_u64(st, 4),
	};
}

#define QUEUE_SELECT                                                  \
	"SELECT id, program, patient, course_id, planned_at_usec FROM" \
	" queue ORDER BY id"

int history_queue_list(struct history *h, history_queue_cb cb, void *userdata)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct history_queue_entry e;
	int r;

	if (!h || !cb)
		return -EINVAL;
	r = prepare(h, QUEUE_SELECT, &st);
	if (r < 0)
		return r;
	for (;;) {
		r = step_row(h, st);
		if (r <= 0)
			return r;
		queue_from_row(st, &e);
		r = cb(&e, userdata);
		if (r < 0)
			return r;
	}
}

int history_queue_remove(struct history *h, uint64_t id)
{
	return remove_by_id(h, "DELETE FROM queue WHERE id = ?1", id);
}

/*
 * No transaction around @cb: it starts a session, which must be on disk
 * whatever happens to the queue afterwards.  One thread, one connection:
 * nothing else pops in between.
 */
int history_queue_pop(struct history *h, history_queue_cb cb, void *userdata)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *del = NULL;
	struct history_queue_entry e;
	int r;

	if (!h || !cb)
		return -EINVAL;
	r = prepare(h, QUEUE_SELECT " LIMIT 1", &st);
	if (r < 0)
		return r;
	r = step_row(h, st);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENODATA;
	queue_from_row(st, &e);
	r = cb(&e, userdata);
	if (r < 0)
		return r;
	r = prepare(h, "DELETE FROM queue WHERE id = ?1", &del);
	if (r < 0)
		return r;
	bind_u64(del, 1, e.id);
	/* The row's strings die here; @cb has had them. */
	sqlite3_reset(st);
	return step_done(h, del);
}

/* Plans */

int history_plan_add(struct history *h, const struct history_plan *p,
		     uint64_t *ret_id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	bool at_time_of_day;
	int r;

	if (!h || !p || !name_ok(p->program) || !text_ok(p->patient) ||
	    !usec_ok(p->when_usec) || !usec_ok(p->next_due_usec))
		return -EINVAL;
	at_time_of_day = p->when_minutes >= 0;
	if (p->when_minutes < -1 || p->when_minutes > 24 * 60 - 1 ||
	    at_time_of_day == (p->when_usec > 0))
		return -EINVAL;
	r = course_ref_ok(h, p->course_id);
	if (r < 0)
		return r;
	r = prepare(h,
		    "INSERT INTO plans (program, patient, course_id,"
		    " when_minutes, when_usec, daily, next_due_usec)"
		    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		    &st);
	if (r < 0)
		return r;
	bind_text(st, 1, p->program);
	bind_text(st, 2, p->patient);
	bind_id_or_null(st, 3, p->course_id);
	if (at_time_of_day)
		sqlite3_bind_int(st, 4, p->when_minutes);
	else
		bind_u64(st, 5, p->when_usec);
	sqlite3_bind_int(st, 6, p->daily);
	bind_u64(st, 7, p->next_due_usec);
	r = step_done(h, st);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = (uint64_t)sqlite3_last_insert_rowid(h->db);
	return 0;
}

int history_plan_list(struct history *h, history_plan_cb cb, void *userdata)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct history_plan p;
	int r;

	if (!h || !cb)
		return -EINVAL;
	/*
	 * No index on next_due_usec, so SQLite sorts every row before handing
	 * over the first: the callback may move or remove plans (the daemon
	 * does, as plans fall due) without one coming round twice.
	 */
	r = prepare(h,
		    "SELECT id, program, patient, course_id, when_minutes,"
		    " when_usec, daily, next_due_usec FROM plans"
		    " ORDER BY next_due_usec, id",
		    &st);
	if (r < 0)
		return r;
	for (;;) {
		r = step_row(h, st);
		if (r <= 0)
			return r;
		p = (struct history_plan) {
			.id = column_u64(st, 0),
			.program = column_text(st, 1),
			.patient = column_text(st, 2),
			.course_id = column_u64(st, 3),
			.when_minutes = column_int_or(st, 4, -1),
			.when_usec = column_u64(st, 5),
			.daily = sqlite3_column_int(st, 6) != 0,
			.next_due_usec = column_u64(st, 7),
		};
		r = cb(&p, userdata);
		if (r < 0)
			return r;
	}
}

int history_plan_remove(struct history *h, uint64_t id)
{
	return remove_by_id(h, "DELETE FROM plans WHERE id = ?1", id);
}

int history_plan_set_next_due(struct history *h, uint64_t id,
			      uint64_t next_due_usec)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !usec_ok(next_due_usec))
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	r = prepare(h, "UPDATE plans SET next_due_usec = ?2 WHERE id = ?1",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, id);
	bind_u64(st, 2, next_due_usec);
	r = step_done(h, st);
	if (r < 0)
		return r;
	return sqlite3_changes(h->db) ? 0 : -ENOENT;
}

/* Courses */

int history_course_create(struct history *h, const char *patient,
			  const char *program, unsigned int sessions,
			  unsigned int interval_days, uint64_t start_usec,
			  uint64_t *ret_id)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !text_ok(patient) || !name_ok(program) || sessions == 0 ||
	    sessions > COURSE_SESSIONS_MAX || interval_days == 0 ||
	    interval_days > COURSE_INTERVAL_DAYS_MAX ||
	    start_usec > COURSE_START_USEC_MAX)
		return -EINVAL;
	r = prepare(h,
		    "INSERT INTO courses (patient, program, sessions,"
		    " interval_days, start_usec) VALUES (?1, ?2, ?3, ?4, ?5)",
		    &st);
	if (r < 0)
		return r;
	bind_text(st, 1, patient);
	bind_text(st, 2, program);
	sqlite3_bind_int64(st, 3, sessions);
	sqlite3_bind_int64(st, 4, interval_days);
	bind_u64(st, 5, start_usec);
	r = step_done(h, st);
	if (r < 0)
		return r;
	if (ret_id)
		*ret_id = (uint64_t)sqlite3_last_insert_rowid(h->db);
	return 0;
}

/*
 * done, missed, due and next due of @c as of @now_usec; the rule is in
 * docs/history.md.  Slot k is [start + k x interval, start + (k+1) x
 * interval).
 */
static int course_figures(struct history *h, struct history_course *c,
			  uint64_t now_usec)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	_cleanup_(freep) bool *hit = NULL;
	uint64_t slot_usec = (uint64_t)c->interval_days * USEC_PER_DAY;
	uint64_t passed = 0, current = 0, k;
	unsigned int done = 0, missed = 0;
	int r;

	/* A row edited by hand must not break the arithmetic. */
	if (c->sessions == 0 || c->sessions > COURSE_SESSIONS_MAX ||
	    slot_usec == 0 || c->interval_days > COURSE_INTERVAL_DAYS_MAX ||
	    c->start_usec > COURSE_START_USEC_MAX)
		return -EBADMSG;
	hit = calloc(c->sessions, sizeof(*hit));
	if (!hit)
		return -ENOMEM;
	r = prepare(h,
		    "SELECT started_usec FROM sessions WHERE course_id = ?1"
		    " AND outcome = 'completed'",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, c->id);
	for (;;) {
		uint64_t t;

		r = step_row(h, st);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		done++;
		t = column_u64(st, 0);
		if (t < c->start_usec)
			continue;
		k = (t - c->start_usec) / slot_usec;
		if (k < c->sessions)
			hit[k] = true;
	}

	if (now_usec >= c->start_usec) {
		current = (now_usec - c->start_usec) / slot_usec;
		passed = current < c->sessions ? current : c->sessions;
	}
	for (k = 0; k < passed; k++)
		if (!hit[k])
			missed++;

	c->done = done;
	if (done >= c->sessions) {
		c->missed = 0;
		c->due = 0;
	} else {
		c->missed = missed < c->sessions - done ? missed :
							  c->sessions - done;
		c->due = c->sessions - done - c->missed;
	}
	if (c->due == 0)
		c->next_due_usec = 0;
	else if (now_usec < c->start_usec)
		c->next_due_usec = c->start_usec;
	else if (current < c->sessions && !hit[current])
		c->next_due_usec = c->start_usec + current * slot_usec;
	else
		c->next_due_usec = c->start_usec + (current + 1) * slot_usec;
	return 0;
}

static int courses_foreach(struct history *h, sqlite3_stmt *st,
			   uint64_t now_usec, history_course_cb cb,
			   void *userdata)
{
	struct history_course c;
	int r, n = 0;

	for (;;) {
		r = step_row(h, st);
		if (r < 0)
			return r;
		if (r == 0)
			return n;
		c = (struct history_course) {
			.id = column_u64(st, 0),
			.patient = column_text(st, 1),
			.program = column_text(st, 2),
			.sessions = (unsigned int)column_u64(st, 3),
			.interval_days = (unsigned int)column_u64(st, 4),
			.start_usec = column_u64(st, 5),
		};
		r = course_figures(h, &c, now_usec);
		if (r < 0)
			return r;
		r = cb(&c, userdata);
		if (r < 0)
			return r;
		n++;
	}
}

#define COURSE_SELECT                                                  \
	"SELECT id, patient, program, sessions, interval_days, start_usec" \
	" FROM courses"

int history_course_list(struct history *h, uint64_t now_usec,
			history_course_cb cb, void *userdata)
{
	_cleanup_(tx_rollbackp) struct tx tx = {};
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !cb || !usec_ok(now_usec))
		return -EINVAL;
	r = tx_begin_read(h, &tx);
	if (r < 0)
		return r;
	r = prepare(h, COURSE_SELECT " ORDER BY id", &st);
	if (r < 0)
		return r;
	r = courses_foreach(h, st, now_usec, cb, userdata);
	if (r < 0)
		return r;
	sqlite3_reset(st);
	return tx_commit(&tx);
}

int history_course_get(struct history *h, uint64_t id, uint64_t now_usec,
		       history_course_cb cb, void *userdata)
{
	_cleanup_(tx_rollbackp) struct tx tx = {};
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !cb || !usec_ok(now_usec))
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	r = tx_begin_read(h, &tx);
	if (r < 0)
		return r;
	r = prepare(h, COURSE_SELECT " WHERE id = ?1", &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, id);
	r = courses_foreach(h, st, now_usec, cb, userdata);
	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	sqlite3_reset(st);
	return tx_commit(&tx);
}

int history_course_dose(struct history *h, uint64_t course_id,
			history_site_dose_cb cb, void *userdata)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	struct history_site_dose d;
	int r;

	if (!h || !cb)
		return -EINVAL;
	r = course_exists(h, course_id);
	if (r < 0)
		return r;
	/* Every session of the course counts: a stopped one still dosed. */
	r = prepare(h,
		    "SELECT st.site, COUNT(DISTINCT st.session_id),"
		    " SUM(st.contact_usec), TOTAL(st.dose)"
		    " FROM steps st JOIN sessions s ON s.id = st.session_id"
		    " WHERE s.course_id = ?1 GROUP BY st.site ORDER BY st.site",
		    &st);
	if (r < 0)
		return r;
	bind_u64(st, 1, course_id);
	for (;;) {
		r = step_row(h, st);
		if (r <= 0)
			return r;
		d = (struct history_site_dose) {
			.site = column_text(st, 0),
			.sessions = (unsigned int)column_u64(st, 1),
			.contact_usec = column_u64(st, 2),
			.dose_ms2s = sqlite3_column_double(st, 3),
		};
		r = cb(&d, userdata);
		if (r < 0)
			return r;
	}
}

/*
 * Erasure.  Steps and events are deleted by their own statements rather
 * than by the cascade, so that sqlite3_changes() counts them.
 */

void history_set_erase_hook(struct history *h, history_erase_hook hook,
			    void *userdata)
{
	if (!h)
		return;
	h->erase_hook = hook;
	h->erase_hook_data = userdata;
}

static void erase_stage(struct history *h, const char *stage)
{
	if (h->erase_hook)
		h->erase_hook(stage, h->erase_hook_data);
}

/* What an erasure's statements are bound to: ?1, ?2 and ?3. */
struct erase_args {
	const char *text;
	uint64_t usec;
	int64_t limit;
};

/*
 * Run each of @sql and count what it changed; a NULL statement changes
 * nothing.
 */
static int erase_rows(struct history *h, const char *const *sql,
		      unsigned int *const *counts, size_t n,
		      const struct erase_args *a)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
		int np;

		*counts[i] = 0;
		if (!sql[i])
			continue;
		r = prepare(h, sql[i], &st);
		if (r < 0)
			return r;
		np = sqlite3_bind_parameter_count(st);
		if (np >= 1 && a->text)
			bind_text(st, 1, a->text);
		if (np >= 2)
			bind_u64(st, 2, a->usec);
		if (np >= 3)
			sqlite3_bind_int64(st, 3, a->limit);
		r = step_done(h, st);
		if (r < 0)
			return r;
		*counts[i] = (unsigned int)sqlite3_changes(h->db);
	}
	return 0;
}

/* One erasure: delete, commit (or roll back a dry run), scrub the WAL. */
static int erase_run(struct history *h, const char *const *sql, size_t n,
		     const struct erase_args *a, bool dry_run,
		     struct history_erased *ret)
{
	_cleanup_(tx_rollbackp) struct tx tx = {};
	struct history_erased e = { 0 };
	unsigned int *const counts[] = {
		&e.steps, &e.events, &e.sessions, &e.queue, &e.plans,
		&e.courses,
	};
	int r;

	if (n != ARRAY_SIZE(counts))
		return -EINVAL;
	r = tx_begin(h, &tx);
	if (r < 0)
		return r;
	/* Outside another transaction only: a savepoint is not durable. */
	if (tx.savepoint)
		return -EBUSY;
	r = erase_rows(h, sql, counts, n, a);
	if (r < 0)
		return r;
	if (dry_run) {
		*ret = e;
		return 0;	/* the cleanup rolls back */
	}
	erase_stage(h, "deleted");
	r = tx_commit(&tx);
	if (r < 0)
		return r;
	*ret = e;
	erase_stage(h, "committed");
	return wal_scrub(h);
}

/* The patient's sessions: named, or of one of the patient's courses. */
#define PATIENT_SESSIONS                                              \
	"SELECT id FROM sessions WHERE patient = ?1 OR course_id IN" \
	" (SELECT id FROM courses WHERE patient = ?1)"
#define PATIENT_ROWS                                 \
	" WHERE patient = ?1 OR course_id IN"        \
	" (SELECT id FROM courses WHERE patient = ?1)"

int history_erase_patient(struct history *h, const char *patient,
			  bool dry_run, struct history_erased *ret)
{
	static const char *const sql[] = {
		"DELETE FROM steps WHERE session_id IN (" PATIENT_SESSIONS ")",
		"DELETE FROM events WHERE session_id IN (" PATIENT_SESSIONS ")",
		"DELETE FROM sessions" PATIENT_ROWS,
		"DELETE FROM queue" PATIENT_ROWS,
		"DELETE FROM plans" PATIENT_ROWS,
		"DELETE FROM courses WHERE patient = ?1",
	};

	if (!h || !ret || !name_ok(patient))
		return -EINVAL;
	return erase_run(h, sql, ARRAY_SIZE(sql),
			 &(struct erase_args){ .text = patient }, dry_run, ret);
}

/*
 * A course is over when its last slot has ended: start + sessions x
 * interval (SQLite turns a product beyond 64 bits into a REAL, which
 * still compares right).  It goes when that is before the cut-off and no
 * session still running or ended after it, no queue entry and no plan
 * refers to it.
 */
#define COURSE_EXPIRED                                                    \
	"SELECT c.id FROM courses c WHERE"                                \
	" c.start_usec + c.sessions * c.interval_days * 86400000000 < ?2" \
	" AND NOT EXISTS (SELECT 1 FROM sessions s WHERE"                 \
	"  s.course_id = c.id AND (s.ended_usec IS NULL OR"               \
	"  s.ended_usec >= ?2))"                                          \
	" AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.course_id = c.id)" \
	" AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.course_id = c.id)"
/* The oldest first, at most ?3 (-1: all): the same rows each time. */
#define SESSIONS_EXPIRED                                      \
	"SELECT id FROM sessions WHERE ended_usec IS NOT NULL" \
	" AND ended_usec < ?2 AND (course_id IS NULL OR"       \
	" course_id IN (" COURSE_EXPIRED "))"                  \
	" ORDER BY ended_usec, id LIMIT ?3"

int history_expire(struct history *h, uint64_t before_usec,
		   unsigned int max_sessions, struct history_erased *ret)
{
	/* Queue entries and plans are not records: NULL, left alone. */
	static const char *const sql[] = {
		"DELETE FROM steps WHERE session_id IN (" SESSIONS_EXPIRED ")",
		"DELETE FROM events WHERE session_id IN (" SESSIONS_EXPIRED ")",
		"DELETE FROM sessions WHERE id IN (" SESSIONS_EXPIRED ")",
		NULL,
		NULL,
		"DELETE FROM courses WHERE id IN (" COURSE_EXPIRED ")"
			" AND NOT EXISTS (SELECT 1 FROM sessions s WHERE"
			" s.course_id = courses.id)",
	};
	struct erase_args a = {
		.usec = before_usec,
		.limit = max_sessions ? (int64_t)max_sessions : -1,
	};

	if (!h || !ret || !usec_ok(before_usec))
		return -EINVAL;
	return erase_run(h, sql, ARRAY_SIZE(sql), &a, false, ret);
}

int history_newest_usec(struct history *h, uint64_t *ret)
{
	_cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
	int r;

	if (!h || !ret)
		return -EINVAL;
	r = prepare(h, "SELECT MAX(last_update_usec) FROM sessions", &st);
	if (r < 0)
		return r;
	r = step_row(h, st);
	if (r < 0)
		return r;
	*ret = r ? column_u64(st, 0) : 0;
	return 0;
}
