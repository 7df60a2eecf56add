# SPDX-License-Identifier: MIT
# mk/install.mk: `make install`, `make deb`, `make check-deb`,
# `make check-units`, `make check-dkms`. Included from the top-level
# Makefile; uses its $(O) and daemon/daemon.mk's $(DAEMON_BIN).
#
#   make install [DESTDIR=/tmp/root] [PREFIX=/usr]
#
# PREFIX is /usr by default, not /usr/local: udev reads rules and dbus
# its policy only from the system's directories, and the units name
# /usr/sbin/massaged.
# Upstream defaults follow systemd's merged-/usr layout ($(PREFIX)/lib/...).
# debian/rules passes UNITDIR=/lib/systemd/system and
# UDEVRULESDIR=/lib/udev/rules.d for bookworm: its debhelper (13.11)
# finds the units to enable and start only under lib/systemd/system
# (dh_installsystemd), its systemd and udev say /lib in pkg-config, and
# the /usr-merge moratorium (dpkg's aliasing problem) asks packages to
# keep such files where bookworm ships its own. Lintian accepts both.

PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(PREFIX)/lib/systemd/system
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d
DBUSPOLICYDIR ?= $(DATADIR)/dbus-1/system.d
DBUSSERVICEDIR ?= $(DATADIR)/dbus-1/system-services
PROGRAMDIR ?= $(DATADIR)/massaged/programs
INSTALL ?= install

# massagectl arrives with massagectl/massagectl.mk; until then `make
# install` installs what exists and does not fail.
MASSAGECTL_TARGET := $(if $(wildcard massagectl/massagectl.mk),massagectl)
MASSAGECTL_MAN := $(wildcard massagectl/*.1)

.PHONY: install deb deb-locked check-deb check-units check-dkms

install: daemon $(MASSAGECTL_TARGET)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(PROGRAMDIR) $(DESTDIR)$(SYSCONFDIR)/massaged \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(UDEVRULESDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(MODULESLOADDIR) \
		$(DESTDIR)$(DBUSPOLICYDIR) \
		$(DESTDIR)$(DBUSSERVICEDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(DAEMON_BIN) $(DESTDIR)$(SBINDIR)/massaged
	$(if $(wildcard $(O)/massagectl),$(INSTALL) -D -m 0755 $(O)/massagectl $(DESTDIR)$(BINDIR)/massagectl)
	$(INSTALL) -m 0644 programs/*.program $(DESTDIR)$(PROGRAMDIR)/
	$(INSTALL) -m 0644 daemon/massaged.conf $(DESTDIR)$(SYSCONFDIR)/massaged/massaged.conf
	$(INSTALL) -m 0644 systemd/massaged.service systemd/massaged-sim.service \
		$(DESTDIR)$(UNITDIR)/
	$(INSTALL) -m 0644 udev/60-massager.rules $(DESTDIR)$(UDEVRULESDIR)/
	$(INSTALL) -m 0644 systemd/sysusers.d/massaged.conf $(DESTDIR)$(SYSUSERSDIR)/massaged.conf
	$(INSTALL) -m 0644 systemd/modules-load.d/massaged.conf $(DESTDIR)$(MODULESLOADDIR)/massaged.conf
	$(INSTALL) -m 0644 daemon/org.massaged.Massager1.conf $(DESTDIR)$(DBUSPOLICYDIR)/
	$(INSTALL) -m 0644 daemon/org.massaged.Massager1.service $(DESTDIR)$(DBUSSERVICEDIR)/
	$(INSTALL) -m 0644 daemon/massaged.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 docs/massaged.program.5 $(DESTDIR)$(MANDIR)/man5/
	$(if $(MASSAGECTL_MAN),$(INSTALL) -d $(DESTDIR)$(MANDIR)/man1 && \
		$(INSTALL) -m 0644 $(MASSAGECTL_MAN) $(DESTDIR)$(MANDIR)/man1/)

# The Debian packages, built with dpkg-buildpackage from a copy of the
# tree in build/deb/src, so the work tree stays clean. The copy is the
# committed HEAD (what others install is what is committed; the work tree
# may hold someone's half-done files); DEB_FROM=worktree copies the
# tracked and untracked files of the work tree instead.
# Output: build/deb/*.deb, build/deb/build.log, build/deb/lintian.log.
# DEB_ARCH=arm64 cross-builds the station's own massaged package
# (dpkg-buildpackage -a arm64 -B: massager-dkms is arch all, built on
# amd64) into build/deb-arm64/.
DEB_FROM ?= head
DEB_ARCH ?=
DEB_DIR := $(O)/deb$(if $(DEB_ARCH),-$(DEB_ARCH))
DEB_NEW := $(DEB_DIR).new
# One build at a time (make check and a person may both call it); the
# result replaces build/deb only once it is complete.
deb:
	@mkdir -p $(O)
	@flock $(O)/.deb$(if $(DEB_ARCH),-$(DEB_ARCH)).lock $(MAKE) --no-print-directory deb-locked

deb-locked:
	rm -rf $(DEB_NEW) && mkdir -p $(DEB_NEW)/src
ifeq ($(DEB_FROM),worktree)
	git ls-files -co --exclude-standard -z | \
		xargs -0 sh -c 'for f; do [ ! -e "$$f" ] || cp -P --parents "$$f" $(DEB_NEW)/src; done' sh
else
	git archive --format=tar HEAD | tar -x -C $(DEB_NEW)/src
endif
	cd $(DEB_NEW)/src && dpkg-buildpackage -us -uc $(if $(DEB_ARCH),-a $(DEB_ARCH) -B,-b) \
		-j$$(nproc) >../build.log 2>&1 || \
		{ tail -40 ../build.log; echo "deb: dpkg-buildpackage failed: $(DEB_NEW)/build.log" >&2; exit 1; }
	rm -rf $(DEB_DIR) && mv $(DEB_NEW) $(DEB_DIR)
	@ls -1 $(DEB_DIR)/*.deb
	@lintian --pedantic $(DEB_DIR)/*.changes >$(DEB_DIR)/lintian.log 2>&1; \
		grep -v '^running with root' $(DEB_DIR)/lintian.log >$(DEB_DIR)/lintian.tags || true; \
		if [ -s $(DEB_DIR)/lintian.tags ]; then \
			echo "lintian:"; cat $(DEB_DIR)/lintian.tags; \
		else echo "lintian: clean (overrides: debian/*.lintian-overrides)"; fi

# The packages must be lintian clean apart from the overrides in debian/.
check-deb: deb
	@! grep -E '^[EW]: ' $(DEB_DIR)/lintian.tags || \
		{ echo "deb: lintian errors or warnings" >&2; exit 1; }

# The units: systemd-analyze verify (on copies whose ExecStart points at
# the built binary, so verify finds it) and the offline security score.
UNIT_MAX_EXPOSURE := 2.5
check-units: daemon
	@sh systemd/check-units.sh $(abspath $(DAEMON_BIN)) $(UNIT_MAX_EXPOSURE)

# The DKMS source tree of massager-dkms, built with dkms against an
# installed kernel's headers (the newest 6.1 one unless DKMS_KERNEL=...).
check-dkms:
	@sh debian/check-dkms.sh $(DKMS_KERNEL)
