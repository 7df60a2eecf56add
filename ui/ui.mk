# SPDX-License-Identifier: MIT
# ui/ui.mk: the Cockpit page (package cockpit-massaged, docs/ui.md).
#
#   make ui            build/ui/massaged/: the page as installed
#   make install-ui    into $(DESTDIR)$(DATADIR)/cockpit/massaged
#   make check-ui      the browser test (tests/ui/run.sh; root)
#
# The page is plain HTML/CSS/JS; only PatternFly's stylesheet comes from
# npm, at the version ui/package-lock.json pins (npm ci: the same files on
# every machine; offline from npm's cache once it has them).

UI_OUT := $(O)/ui/massaged
UI_SRC := $(addprefix ui/,manifest.json index.html massaged.js plot.js massaged.css build.sh)
UI_PF := ui/node_modules/@patternfly/patternfly
COCKPITDIR ?= $(DATADIR)/cockpit/massaged

.PHONY: ui install-ui check-ui

ui: $(UI_OUT)/manifest.json

$(UI_PF)/package.json: ui/package.json ui/package-lock.json
	cd ui && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline
	touch $@

$(UI_OUT)/manifest.json: $(UI_SRC) $(UI_PF)/package.json
	sh ui/build.sh $(UI_PF) $(UI_OUT)

install-ui: ui
	$(INSTALL) -d $(DESTDIR)$(COCKPITDIR)
	$(INSTALL) -m 0644 $(UI_OUT)/* $(DESTDIR)$(COCKPITDIR)/

# The browser test against the real cockpit-ws and massaged; about a
# minute (docs/testing.md).
check-ui: daemon
	rm -rf $(O)/ui/dest
	+$(MAKE) install-ui DESTDIR=$(abspath $(O))/ui/dest
	tests/ui/run.sh
