// SPDX-License-Identifier: GPL-2.0-only
/* The plant physics of lib/plant.c, built into massager-sim.ko. */
#include "plant.c"
