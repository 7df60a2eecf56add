# SPDX-License-Identifier: MIT
# mk/pkg-config.mk: compiler and linker flags from pkg-config, worked out
# when a recipe first needs them, never while make reads the Makefiles.
#
#   FOO_CFLAGS = $(call pkg_config,--cflags,libsystemd libudev)
#   FOO_LIBS = $(call pkg_config,--libs,libsystemd libudev)
#
# Use `=`, never `:=`. make reads every Makefile before it runs any
# recipe, so `FOO_LIBS := $(shell pkg-config ...)` ran before `make deps`
# had installed the -dev packages: on a fresh machine the first `make
# demo` linked massaged with empty flags. Here pkg-config runs once per
# make for each option and package list, at recipe time, and a package it
# cannot find stops make with its name instead of giving empty flags.
# tests/fresh (make check-fresh) runs the first `make demo` in a fresh
# Debian root to keep it so.

PKG_CONFIG ?= pkg-config

pkg_config_empty :=
pkg_config_key = pkg_config_memo$(subst $(pkg_config_empty) ,_,$(strip $(1) $(2)))
pkg_config_missing = $(strip $(foreach p,$(1),$(if $(shell $(PKG_CONFIG) --exists $(p) && echo y),,$(p))))
pkg_config_run = $(if $(call pkg_config_missing,$(2)),$(error $(PKG_CONFIG) finds no $(call pkg_config_missing,$(2)): their -dev packages are missing; `make deps` installs them (as root on Debian; otherwise it prints the apt-get line)),$(shell $(PKG_CONFIG) $(1) $(2)))
pkg_config = $(if $(filter undefined,$(origin $(call pkg_config_key,$(1),$(2)))),$(eval $(call pkg_config_key,$(1),$(2)) := $(call pkg_config_run,$(1),$(2))))$($(call pkg_config_key,$(1),$(2)))
