#!/bin/sh
# SPDX-License-Identifier: MIT
# ui/build.sh PATTERNFLY_DIR OUT_DIR: the Cockpit page as installed.
#
# The page is plain HTML, CSS and JavaScript (no bundler): this copies it
# and writes patternfly.css, the parts of PatternFly 4 (the version
# Cockpit 287's own pages use, pinned by ui/package-lock.json) the page
# uses: the base (variables, reset, utilities) and its components. The
# base's @font-face rules are replaced by ones naming the Red Hat fonts
# cockpit-ws already serves under /cockpit/static/fonts, so the page needs
# nothing from the network and ships no fonts of its own.
set -eu
pf=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
components="Alert Button Card Label Progress Tabs Form FormControl Table Title Check Radio"

[ -f "$pf/patternfly-base.css" ] || { echo "ui/build.sh: no PatternFly in $pf (npm ci in ui/)" >&2; exit 1; }
rm -rf "$out.new"
mkdir -p "$out.new"
{
	echo "/* PatternFly $(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$pf/package.json") (MIT): base and components $components; built by ui/build.sh */"
	for f in Regular Medium Bold; do
		w=400
		[ $f = Medium ] && w=500
		[ $f = Bold ] && w=700
		for fam in RedHatText RedHatDisplay; do
			printf '@font-face { font-family: "%s"; src: url("../../static/fonts/%s-%s.woff2") format("woff2"); font-style: normal; font-weight: %s; }\n' \
				$fam $fam $f $w
		done
	done
	printf '@font-face { font-family: "RedHatMono"; src: url("../../static/fonts/RedHatMono-Regular.woff2") format("woff2"); font-style: normal; font-weight: 400; }\n'
	# drop the base's own @font-face blocks (they name fonts we do not ship)
	awk '/^@font-face/ { skip = 1 } !skip { print } skip && /^}/ { skip = 0 }' "$pf/patternfly-base.css"
	for c in $components; do
		for f in "$pf/components/$c/"*.css; do
			case $f in *table-tree-view.css | *table-grid.css) continue ;; esac
			cat "$f"
		done
	done
} | sed 's|url("\.\./\.\./assets/images/status-icon-sprite\.svg|url("status-icon-sprite.svg|' >"$out.new/patternfly.css"
install -m 0644 "$pf/assets/images/status-icon-sprite.svg" "$out.new/"
grep -q 'url("[./]*assets' "$out.new/patternfly.css" &&
	{ echo "ui/build.sh: patternfly.css still names PatternFly's assets" >&2; exit 1; }
for f in manifest.json index.html massaged.js plot.js massaged.css; do
	install -m 0644 "$here/$f" "$out.new/$f"
done
rm -rf "$out"
mv "$out.new" "$out"
