// SPDX-License-Identifier: MIT
/*
 * massaged-ctl.c - send one command to massaged's debug control socket
 * and print the answer: massaged-ctl SOCKET COMMAND [ARGS...]
 *
 * Exit status 0 when the daemon answered "ok", 1 on "error ...", 2 when
 * it did not answer within two seconds.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	struct sockaddr_un to = { .sun_family = AF_UNIX };
	struct sockaddr_un me = { .sun_family = AF_UNIX };
	char cmd[256] = "", reply[4096];
	struct pollfd p;
	ssize_t n;
	int fd, i;

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
