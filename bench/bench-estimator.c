// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * bench-estimator - nanoseconds per estimator_feed() (and per feed plus
 * estimator_read()) on a synthetic 45 Hz rotating vector. No pass/fail.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "../lib/estimator.h"

#define RATE_HZ		3200
#define TABLE_LEN	4096

static struct estimator est;
static int16_t table[TABLE_LEN][3];

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double run(uint32_t window, uint32_t count, int with_read)
{
	struct estimator_config c;
	struct estimate r = { 0 };
	double t0, t1;

	estimator_config_default(&c, RATE_HZ);
	c.window_samples = window;
	if (estimator_init(&est, &c) < 0)
		return NAN;
	t0 = now_ns();
	for (uint32_t i = 0; i < count; i++) {
		const int16_t *s = table[i % TABLE_LEN];

		estimator_feed(&est, s[0], s[1], s[2]);
		if (with_read)
			estimator_read(&est, &r);
	}
	t1 = now_ns();
	/* keep the reads alive */
	if (r.freq_hz < 0)
		puts("impossible");
	return (t1 - t0) / count;
}

int main(void)
{
	static const uint32_t windows[] = { 0, 256, ESTIMATOR_WINDOW_MAX };
	const uint32_t count = 2000000;
	uint64_t rng = 1;

	for (int i = 0; i < TABLE_LEN; i++) {
		double ph = 2.0 * M_PI * 45.0 * i / RATE_HZ;
		double n;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		n = (double)(rng >> 40) / (1 << 24) * 40.0 - 20.0;
		table[i][0] = (int16_t)lrint(500.0 * cos(ph) + n);
		table[i][1] = (int16_t)lrint(500.0 * sin(ph) - n);
		table[i][2] = (int16_t)lrint(256.0 + n);
	}

	printf("sizeof(struct estimator) = %zu bytes\n", sizeof(est));
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		double feed_ns = run(windows[i], count, 0);
		double both_ns = run(windows[i], count, 1);

		printf("window %4u: feed %.1f ns/sample, feed+read %.1f ns/sample\n",
		       est.window, feed_ns, both_ns);
	}
	return 0;
}
