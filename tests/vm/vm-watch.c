// SPDX-License-Identifier: MIT
/*
 * vm-watch.c - do one thing, then time how long until files read given
 * values; for tests/vm/daemon-test.sh, where busybox has no clock finer
 * than /proc/uptime's 10 ms.
 *
 *   vm-watch TIMEOUT_MS ACTION [PATH=VALUE...]
 *
 * ACTION is "set:PATH=VALUE" (write VALUE to PATH), "kill:PID" (SIGKILL)
 * or "none". Then every PATH is read (first word) every 100 us until each
 * equals its VALUE, and "ms=<elapsed since the action>" is printed.
 * Exit status 0 when all matched in time, 1 on timeout (the last values
 * are printed), 2 on bad usage or a failed action.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int read_word(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, " \t\n")] = '\0';
	return 0;
}

static int write_value(const char *path, const char *value)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* "PATH=VALUE" -> PATH, VALUE (in place) */
static int split(char *s, char **ret_value)
{
	char *eq = strrchr(s, '=');

	if (!eq || eq == s)
		return -EINVAL;
	*eq = '\0';
	*ret_value = eq + 1;
	return 0;
}

int main(int argc, char **argv)
{
	char *want[16], buf[64], *act;
	double t0, timeout_ms;
	int i, n, ok, r = 0;

	if (argc < 3 || argc - 3 > (int)(sizeof(want) / sizeof(want[0]))) {
		fprintf(stderr, "usage: vm-watch TIMEOUT_MS set:PATH=VALUE|kill:PID|none [PATH=VALUE...]\n");
		return 2;
	}
	timeout_ms = atof(argv[1]);
	n = argc - 3;
	for (i = 0; i < n; i++)
		if (split(argv[3 + i], &want[i]) < 0) {
			fprintf(stderr, "vm-watch: expected PATH=VALUE, got %s\n",
				argv[3 + i]);
			return 2;
		}

	act = argv[2];
	t0 = now_ms();
	if (strncmp(act, "set:", 4) == 0) {
		char *value;

		if (split(act + 4, &value) == 0)
			r = write_value(act + 4, value);
		else
			r = -EINVAL;
	} else if (strncmp(act, "kill:", 5) == 0) {
		if (kill(atoi(act + 5), SIGKILL) < 0)
			r = -errno;
	} else if (strcmp(act, "none") != 0) {
		r = -EINVAL;
	}
	if (r < 0) {
		fprintf(stderr, "vm-watch: %s failed: %s\n", act, strerror(-r));
		return 2;
	}

	for (;;) {
		double t = now_ms() - t0;

		ok = 1;
		for (i = 0; i < n; i++)
			if (read_word(argv[3 + i], buf, sizeof(buf)) < 0 ||
			    strcmp(buf, want[i]) != 0)
				ok = 0;
		if (ok) {
			printf("ms=%.1f\n", t);
			return 0;
		}
		if (t > timeout_ms)
			break;
		usleep(100);
	}
	printf("ms=timeout");
	for (i = 0; i < n; i++) {
		if (read_word(argv[3 + i], buf, sizeof(buf)) < 0)
			strcpy(buf, "?");
		printf(" %s=%s", argv[3 + i], buf);
	}
	printf("\n");
	return 1;
}
