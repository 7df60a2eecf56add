#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# overlay-on-debian-dtb.sh - the Pi overlay on the Pi 4 tree Debian ships
#
# Usage: kmod/tests/overlay-on-debian-dtb.sh     (after make -C kmod dtbs and
#                                                kernels.sh --arch arm64 install)
#
# For each arm64 kernel of tests/vm/kernels.sh, takes the
# broadcom/bcm2711-rpi-4-b.dtb its image ships, applies
# build/dts/massager-rpi4.dtbo with fdtoverlay, checks that the massager
# node's phandles resolved to the right controllers, and validates the
# result with dt-validate against docs/bindings/ (which must match the
# node and report nothing about it).
#
# Debian's tree is the mainline one, not the Raspberry Pi firmware's:
#  - a tree without __symbols__ (built without dtc -@; Debian's 6.1) takes
#    no overlay at all: reported as a SKIP with that reason;
#  - mainline has none of the firmware's labels "spi0" (mainline calls
#    SPI0 "spi") and "spidev0" (the firmware's spidev child of SPI0, which
#    the overlay disables to free CE0). Those two, and only those, are
#    added to a copy of the base as the firmware's tree defines them; any
#    other label the overlay needs and the base lacks fails.
# TAP lines; exit status 0 when nothing failed.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/dts"
dtbo="$out/massager-rpi4.dtbo"
spi0_path=/soc/spi@7e204000
fail=0
applied=0
n=0

for tool in fdtoverlay fdtput fdtget dt-validate dt-mk-schema; do
	command -v $tool >/dev/null || { echo "overlay: $tool missing: run 'make deps'" >&2; exit 1; }
done
[ -s "$dtbo" ] || { echo "overlay: $dtbo missing: run 'make -C kmod dtbs'" >&2; exit 1; }
mkdir -p "$out"
dt-mk-schema -j -o "$out/bindings.json" "$top/docs/bindings" ||
	{ echo "overlay: dt-mk-schema failed on docs/bindings" >&2; exit 1; }

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; fail=$((fail + 1)); }

# The phandle of the node a label names in @dtb.
label_phandle() { # dtb label
	fdtget "$1" "$(fdtget -t s "$1" /__symbols__ "$2")" phandle
}

kernels=$(sh "$top/tests/vm/kernels.sh" --arch arm64 list) ||
	{ echo "overlay: cannot resolve the arm64 kernels: run 'make deps'" >&2; exit 1; }
while read -r flavour ver hdr vmlinuz moddir; do
	base="$(dirname "$vmlinuz")/dtbs/broadcom/bcm2711-rpi-4-b.dtb"
	name="overlay applies to Debian's arm64 $flavour bcm2711-rpi-4-b.dtb and validates"
	if [ ! -s "$base" ]; then
		not_ok "$name: $base missing: run 'sh tests/vm/kernels.sh --arch arm64 install'"
		continue
	fi
	if ! fdtget -p "$base" /__symbols__ >/dev/null 2>&1; then
		n=$((n + 1))
		echo "ok $n - $name # SKIP $ver's tree has no __symbols__ (dtc without -@): no overlay applies"
		continue
	fi
	work="$out/$ver"
	rm -rf "$work" && mkdir -p "$work"
	cp "$base" "$work/base.dtb"
	syms=$(fdtget -p "$base" /__symbols__)
	missing=""
	for l in $(fdtget -p "$dtbo" /__fixups__); do
		echo "$syms" | grep -qx "$l" || missing="$missing $l"
	done
	echo "# $ver: labels the base lacks:${missing:- none}"
	bad=""
	phandle=$(fdtdump "$base" 2>/dev/null | sed -n 's/.*phandle = <0x\([0-9a-f]*\)>.*/\1/p' |
		while read -r h; do printf '%d\n' "0x$h"; done | sort -n | tail -n 1)
	for l in $missing; do
		case "$l" in
		spi0) fdtput -t s "$work/base.dtb" /__symbols__ spi0 "$spi0_path" ;;
		spidev0)
			phandle=$((phandle + 1))
			fdtput -c "$work/base.dtb" "$spi0_path/spidev@0"
			fdtput -t s "$work/base.dtb" "$spi0_path/spidev@0" compatible rohm,dh2228fv
			fdtput -t u "$work/base.dtb" "$spi0_path/spidev@0" reg 0
			fdtput -t u "$work/base.dtb" "$spi0_path/spidev@0" phandle "$phandle"
			fdtput -t s "$work/base.dtb" /__symbols__ spidev0 "$spi0_path/spidev@0"
			;;
		*) bad="$bad $l" ;;
		esac
	done
	if [ -n "$bad" ]; then
		not_ok "$name: the base lacks labels the firmware's tree alone is known to add:$bad"
		continue
	fi
	if ! fdtoverlay -i "$work/base.dtb" -o "$work/with-massager.dtb" "$dtbo" 2>"$work/fdtoverlay.log"; then
		not_ok "$name: fdtoverlay failed: $(cat "$work/fdtoverlay.log")"
		continue
	fi
	# The node's references land on the base's controllers.
	why=""
	[ "$(fdtget "$work/with-massager.dtb" /massager pwms | cut -d' ' -f1)" = "$(label_phandle "$work/with-massager.dtb" pwm)" ] ||
		why="$why pwms is not &pwm;"
	[ "$(fdtget "$work/with-massager.dtb" /massager enable-gpios | cut -d' ' -f1)" = "$(label_phandle "$work/with-massager.dtb" gpio)" ] ||
		why="$why enable-gpios is not &gpio;"
	[ "$(fdtget -t s "$work/with-massager.dtb" "$spi0_path" status)" = okay ] ||
		why="$why SPI0 not enabled;"
	[ "$(fdtget -t s "$work/with-massager.dtb" "$spi0_path/accelerometer@0" compatible)" = adi,adxl345 ] ||
		why="$why no adxl345 on SPI0 CE0;"
	# Our binding only (-l): the core schemas of bookworm's dt-schema
	# (2022.08) also flag nodes of the 6.12 base, none of them ours.
	dt-validate -s "$out/bindings.json" -l massaged, -M "$work/with-massager.dtb" >"$work/dt-validate.log" 2>&1 || true
	grep -q '^[^ ]*: /massager: matched on schema' "$work/dt-validate.log" ||
		why="$why dt-validate did not match /massager to the binding;"
	if grep -v -e 'matched on schema' -e '^	http' "$work/dt-validate.log" >"$work/dt-errors.log"; then
		why="$why dt-validate: $(tr '\n' ' ' <"$work/dt-errors.log")"
	fi
	if [ -n "$why" ]; then
		not_ok "$name:$why"
	else
		applied=$((applied + 1))
		ok "$name (added:${missing:- none})"
	fi
done <<EOT
$kernels
EOT

[ "$applied" -gt 0 ] || { echo "not ok - the overlay applied to none of the arm64 trees"; fail=$((fail + 1)); }
echo "overlay: $applied applied, $fail failed"
[ "$fail" = 0 ]
