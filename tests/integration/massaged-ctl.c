// SPDX-License-Identifier: MIT
/*
 * massaged-ctl.c - send one command to massaged's debug control socket
 * and print the answer: massaged-ctl SOCKET COMMAND [ARGS...]
 *
 * Exit status 0 when the daemon answered "ok", 1 on "error ...", 2 when
 * it did not answer within two seconds.
 *
 * massaged-ctl --listen PATH SECONDS: be the daemon's $NOTIFY_SOCKET for
 * SECONDS and print every sd_notify() datagram, one line per assignment,
 * prefixed with the CLOCK_MONOTONIC millisecond it arrived.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int listen_notify(const char *path, int seconds)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long end = now_ms() + seconds * 1000LL;
	char buf[4096], *line, *save;
	struct pollfd p;
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return 2;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror(path);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (now_ms() < end) {
		p = (struct pollfd) { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			printf("%lld %s\n", now_ms(), line);
	}
	unlink(path);
	return 0;
}

int main(int argc, char *argv[])
{
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	struct sockaddr_un me = { .sun_family = AF_UNIX };
	char cmd[256] = "", reply[4096];
	struct pollfd p;
	ssize_t n;
	int fd, i;

	if (argc == 4 && strcmp(argv[1], "--listen") == 0)
		return listen_notify(argv[2], atoi(argv[3]));
	if (argc < 3 || strlen(argv[1]) >= sizeof(to.sun_path)) {
		fprintf(stderr, "usage: %s SOCKET COMMAND [ARGS...]\n", argv[0]);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (strlen(cmd) + strlen(argv[i]) + 2 > sizeof(cmd)) {
			fprintf(stderr, "command too long\n");
			return 2;
		}
		if (i > 2)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	strcpy(to.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		return 2;
	}
	/* Autobind to an abstract address so the daemon can answer. */
	if (bind(fd, (struct sockaddr *)&me, sizeof(sa_family_t)) < 0) {
		perror("bind");
		return 2;
	}
	if (sendto(fd, cmd, strlen(cmd), 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	p = (struct pollfd) { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, 2000) <= 0) {
		fprintf(stderr, "no answer from %s\n", argv[1]);
		return 2;
	}
	n = recv(fd, reply, sizeof(reply) - 1, 0);
	if (n < 0) {
		perror("recv");
		return 2;
	}
	reply[n] = '\0';
	fputs(reply, stdout);
	close(fd);
	return strncmp(reply, "ok", 2) == 0 ? 0 : 1;
}
