# SPDX-License-Identifier: GPL-3.0-or-later
# fluxgate build. `make` builds everything; `make check` installs the
# dependencies, builds the normal and the sanitizer trees and runs every test.
# Objects go to build/ (normal), build-asan/ (ASan+UBSan), build-fuzz/ (clang
# libFuzzer harnesses).

.DEFAULT_GOAL := all

PREFIX  ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc

# CPPFLAGS, CFLAGS and LDFLAGS from the environment are added last (the
# Debian build passes its hardening flags this way); normally empty.
CC      ?= cc
WERROR  ?= 0
OPT     ?= -O2
PKGS    := libmnl libnftnl libnetfilter_conntrack yaml-0.1 libcrypto libssl jansson libsystemd libseccomp libcap libmicrohttpd libnetfilter_log libnghttp2
TEST_PKGS := cmocka

ifeq ($(shell pkg-config --exists $(PKGS) && echo yes),yes)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
else
$(if $(filter-out deps clean help,$(MAKECMDGOALS)),$(warning missing libraries; run: make deps))
endif
TEST_LIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -Isrc $(PKG_CFLAGS) -pthread
ASAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# Layer 1 (pure) and layer 2 (adapters) go into one static library; layer 3
# (programs) link it.
LIB_DIRS  := src/common src/dns src/dns/dnssec src/conf src/pool src/grant src/dataplane src/ctl src/lab src/decoy src/dist
LIB_SRCS  := $(sort $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
DAEMON_SRCS := $(sort $(wildcard src/daemon/*.c))
# the daemon's modules without its main(), so unit tests can link them
DAEMON_MODS := $(filter-out src/daemon/main.c,$(DAEMON_SRCS))
CTL_SRCS  := $(sort $(wildcard src/fluxctl/*.c))
LAB_SRCS  := $(sort $(wildcard src/fluxlab/*.c))
DECOY_SRCS := $(sort $(wildcard src/fluxdecoy/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

define tree
# $(1) = build dir, $(2) = extra cflags
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(BASE_CFLAGS) $(OPT) $(2) $$(CPPFLAGS) $$(CFLAGS) -MMD -MP -c $$< -o $$@

$(1)/libfluxgate.a: $$(patsubst %.c,$(1)/obj/%.o,$$(LIB_SRCS))
	@rm -f $$@
	ar rcs $$@ $$^

$(1)/fluxgated: $$(patsubst %.c,$(1)/obj/%.o,$$(DAEMON_SRCS)) $(1)/libfluxgate.a
	$$(CC) $(2) $$(LDFLAGS) -pthread -o $$@ $$^ $$(PKG_LIBS)

$(1)/fluxctl: $$(patsubst %.c,$(1)/obj/%.o,$$(CTL_SRCS)) $(1)/libfluxgate.a
	$$(CC) $(2) $$(LDFLAGS) -pthread -o $$@ $$^ $$(PKG_LIBS)

$(1)/fluxlab: $$(patsubst %.c,$(1)/obj/%.o,$$(LAB_SRCS)) $(1)/libfluxgate.a
	$$(CC) $(2) $$(LDFLAGS) -pthread -o $$@ $$^ $$(PKG_LIBS) -lssl -lm

$(1)/fluxdecoy: $$(patsubst %.c,$(1)/obj/%.o,$$(DECOY_SRCS)) $(1)/libfluxgate.a
	$$(CC) $(2) -pthread -o $$@ $$^ $$(PKG_LIBS) -lssl

$(1)/libfluxgated.a: $$(patsubst %.c,$(1)/obj/%.o,$$(DAEMON_MODS))
	@rm -f $$@
	ar rcs $$@ $$^

$(1)/tests/%: $(1)/obj/tests/unit/%.o $(1)/libfluxgated.a $(1)/libfluxgate.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$(LDFLAGS) -pthread -o $$@ $$^ $$(PKG_LIBS) $$(TEST_LIBS)

# Replay driver: runs a fuzz target over files/dirs given on the command line
# without libFuzzer, so `make check` replays every corpus under the sanitizers.
$(1)/replay/%: $(1)/obj/tests/fuzz/%.o $(1)/obj/tests/fuzz/replay_main.o $(1)/libfluxgated.a $(1)/libfluxgate.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) $$(LDFLAGS) -pthread -o $$@ $$^ $$(PKG_LIBS)

-include $$(shell find $(1)/obj -name '*.d' 2>/dev/null)
endef

$(eval $(call tree,build,))
$(eval $(call tree,build-asan,$(ASAN_FLAGS)))
$(eval $(call tree,build-cov,--coverage -O0))

PROGS      := fluxgated fluxctl fluxlab fluxdecoy
UNIT_BINS  = $(patsubst tests/unit/%.c,%,$(UNIT_SRCS))
FUZZ_NAMES = $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRCS))

.PHONY: all asan tests fuzz fuzz-campaign deps check check-lab demo clean install bench help coverage lab-runs results
all: $(addprefix build/,$(PROGS)) $(addprefix build/tests/,$(UNIT_BINS))

asan: $(addprefix build-asan/,$(PROGS)) $(addprefix build-asan/tests/,$(UNIT_BINS)) \
      $(addprefix build-asan/replay/,$(FUZZ_NAMES))

# libFuzzer builds (clang): make fuzz; then build-fuzz/fuzz_dns tests/fuzz/corpus/dns
fuzz: $(addprefix build-fuzz/,$(FUZZ_NAMES))
# A harness of a parser that lives in a daemon module names that module here.
FUZZ_EXTRA_fuzz_nflog := src/daemon/nflog.c
build-fuzz/fuzz_nflog: $(FUZZ_EXTRA_fuzz_nflog)
FUZZ_EXTRA_fuzz_grantcursor := src/daemon/grantpage.c
build-fuzz/fuzz_grantcursor: $(FUZZ_EXTRA_fuzz_grantcursor)
build-fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p build-fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isrc $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o $@ $< $(FUZZ_EXTRA_$*) $(LIB_SRCS) $(PKG_LIBS)

# Fuzzing campaign (not part of check): FUZZ_SECONDS (1800) per harness,
# JOBS in parallel, FUZZ_TARGETS="tsig cookie" (default: all, least-fuzzed
# first); merges new coverage into tests/fuzz/corpus/, appends to
# bench/fuzz/RESULTS.md. See tests/fuzz/campaign.sh.
FUZZ_TARGETS ?=
fuzz-campaign: $(if $(strip $(FUZZ_TARGETS)),$(addprefix build-fuzz/fuzz_,$(patsubst fuzz_%,%,$(FUZZ_TARGETS))),fuzz)
	tests/fuzz/campaign.sh $(patsubst fuzz_%,%,$(FUZZ_TARGETS))

# Line coverage of the pure modules by the unit tests (gcovr): builds
# build-cov/ with --coverage, runs every unit test there, prints per file
# and the total (bench/README.md, "Coverage", keeps the last figures).
#
# "Pure" is design.md's layer 1 (no I/O of its own, no mutable globals, the
# clock passed in): the directories src/common, src/dns (with dnssec/),
# src/decoy, src/conf, src/pool, src/ctl, src/lab, and the single files of
# that layer in other directories (grant/policy.c, dist/frame.c). Added to
# them, the files of layer-2 directories that are pure themselves (their
# header says so, or they touch nothing but memory): grant/budget.c,
# grant/epoch.c (its I/O goes through the caller's ops), dist/digest.c,
# dist/gview.c, daemon/eventlog_fmt.c, daemon/privsep_policy.c,
# daemon/grantpage.c, daemon/srclimit.c, daemon/tsigq.c, daemon/evqueue.c,
# dataplane/natcfg.c, dataplane/nat_check.c, dataplane/nat.c.
# Left out, inside those directories: common/log.c (writes stderr, holds the
# process's log level), conf/keydir.c and conf/secretfile.c (they open and
# read key files: layer 2 by their headers). Left out elsewhere: files that
# mix a pure part with sockets, netlink or files (daemon/nflog.c,
# daemon/metrics.c, dist/tls.c), the netlink/conntrack/route adapters and
# the programs; the netns tests exercise those. Two files are in although
# not strictly pure, because design.md puts them in layer 1: conf/zonebuild.c
# reads the wall clock for signature times, dns/dnssec/signer.c locks its
# caches.
COV_FILTERS := src/common/ src/dns/ src/decoy/ src/conf/ src/pool/ src/ctl/ src/lab/ \
  src/grant/policy\.c src/grant/budget\.c src/grant/epoch\.c \
  src/dist/frame\.c src/dist/digest\.c src/dist/gview\.c \
  src/daemon/eventlog_fmt\.c src/daemon/privsep_policy\.c src/daemon/grantpage\.c \
  src/daemon/srclimit\.c src/daemon/tsigq\.c src/daemon/evqueue\.c \
  src/dataplane/natcfg\.c src/dataplane/nat_check\.c src/dataplane/nat\.c
COV_EXCLUDES := src/common/log\.c src/conf/keydir\.c src/conf/secretfile\.c
coverage: $(addprefix build-cov/tests/,$(UNIT_BINS))
	find build-cov -name '*.gcda' -delete
	@set -e; for t in $(addprefix build-cov/tests/,$(UNIT_BINS)); do \
	  echo "== $$t"; $$t >build-cov/$$(basename $$t).log 2>&1 || { cat build-cov/$$(basename $$t).log; exit 1; }; \
	done
	gcovr -r . --object-directory build-cov/obj $(addprefix --filter ,$(COV_FILTERS)) \
	  $(addprefix --exclude ,$(COV_EXCLUDES)) \
	  --sort-percentage --print-summary


# Debian packages and the browser test's npm packages (no-op when present)
deps:
	bash scripts/install-deps.sh

check: deps
	$(MAKE) WERROR=1 all
	$(MAKE) WERROR=1 asan
	FG_NETNS_ASAN=1 bash tests/run.sh

# The T&E grid subset with its expectations (tests/netns/lab_grid.sh, about
# 5 minutes), sizes.yaml, sizes-ssh.yaml, sizes-ssh-stale.yaml, sizes-stale.yaml
# (tests/netns/lab_sizes.sh, about 2 minutes) and the distributed topologies
# (tests/netns/lab_dist.sh: kill-agent, failover, external knotd; about 2.5
# minutes); make
# check runs them too.
check-lab: deps
	$(MAKE) WERROR=1 all
	FG_NETNS_VALGRIND=0 bash tests/run.sh -k netns/lab_grid
	FG_NETNS_VALGRIND=0 bash tests/run.sh -k netns/lab_sizes
	FG_NETNS_VALGRIND=0 bash tests/run.sh -k netns/lab_dist

demo: deps
	$(MAKE) all
	bash scripts/demo.sh

# bench/RESULTS.md's lab tables: `make lab-runs` runs the scenarios whose
# figures it shows (one at a time, JSON into LAB_RUNS; about 20 minutes),
# `make results` renders the tables from whatever JSON is in LAB_RUNS
# (and in the console's run directories) into the marked parts of
# bench/RESULTS.md. No figure there is typed by hand.
LAB_RUNS ?= build/lab-runs
LAB_RESULT_SCENARIOS ?= $(sort $(notdir $(basename $(wildcard lab/scenarios/te-*.yaml)))) \
	v6-attackers desir-scan flood flood-mix replay client-cache-pin-default client-cache-pin-long \
	dist-kill-agent dist-failover dist-external-knot dist-external-bind \
	sizes sizes-ssh sizes-ssh-stale sizes-stale
lab-runs: all
	bash lab/run-scenarios.sh $(LAB_RUNS) $(LAB_RESULT_SCENARIOS)

results:
	python3 lab/results.py --update bench/RESULTS.md $(LAB_RUNS)

bench: deps all
	bash bench/dns/run.sh

UNITDIR ?= /lib/systemd/system
# sysusers.d, tmpfiles.d and sysctl.d: systemd reads them under /usr/lib and
# /usr/local/lib alike, so they follow PREFIX
SDLIBDIR ?= $(PREFIX)/lib

# What `make install` puts under DESTDIR; tests/pkg/install.sh checks the
# list and debian/ packages exactly this.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(SYSCONFDIR)/fluxgate $(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(SDLIBDIR)/sysusers.d $(DESTDIR)$(SDLIBDIR)/tmpfiles.d $(DESTDIR)$(SDLIBDIR)/sysctl.d
	install -m 0755 build/fluxgated $(DESTDIR)$(SBINDIR)/fluxgated
	install -m 0755 build/fluxctl $(DESTDIR)$(SBINDIR)/fluxctl
	install -m 0755 build/fluxdecoy $(DESTDIR)$(SBINDIR)/fluxdecoy
	install -m 0644 doc/fluxdecoy.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 doc/fluxdecoy.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(SYSCONFDIR)/fluxdecoy
	install -m 0644 etc/fluxdecoy.conf.sample etc/fluxdecoy.persona.sample $(DESTDIR)$(SYSCONFDIR)/fluxdecoy/
	sed 's#/usr/sbin/#$(SBINDIR)/#g' etc/systemd/fluxdecoy.service > $(DESTDIR)$(UNITDIR)/fluxdecoy.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/fluxdecoy.service
	install -m 0644 doc/fluxgated.8 doc/fluxctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 doc/fluxgate.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 etc/fluxgate.conf.sample $(DESTDIR)$(SYSCONFDIR)/fluxgate/fluxgate.conf.sample
	install -m 0644 etc/logrotate.d/fluxgate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/fluxgate
	install -m 0644 $(wildcard etc/sysusers.d/*.conf) $(DESTDIR)$(SDLIBDIR)/sysusers.d/
	install -m 0644 $(wildcard etc/tmpfiles.d/*.conf) $(DESTDIR)$(SDLIBDIR)/tmpfiles.d/
	install -m 0644 $(wildcard etc/sysctl.d/*.conf) $(DESTDIR)$(SDLIBDIR)/sysctl.d/
	install -D -m 0644 etc/modules-load.d/fluxgate.conf $(DESTDIR)$(SDLIBDIR)/modules-load.d/fluxgate.conf
	sed -e 's#/usr/sbin/#$(SBINDIR)/#g' -e 's#/etc/fluxgate/#$(SYSCONFDIR)/fluxgate/#g' \
	  etc/systemd/fluxgated.service > $(DESTDIR)$(UNITDIR)/fluxgated.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/fluxgated.service
	install -d $(DESTDIR)$(SYSCONFDIR)/fluxgate/failover $(DESTDIR)$(PREFIX)/lib/fluxgate
	install -m 0755 etc/failover/fluxgate-failover-notify $(DESTDIR)$(PREFIX)/lib/fluxgate/
	sed -e 's#/usr/local/lib/fluxgate/#$(PREFIX)/lib/fluxgate/#g' -e 's#/etc/fluxgate/#$(SYSCONFDIR)/fluxgate/#g' \
	  etc/failover/keepalived.conf.sample > $(DESTDIR)$(SYSCONFDIR)/fluxgate/failover/keepalived.conf.sample
	sed -e 's#/etc/fluxgate/#$(SYSCONFDIR)/fluxgate/#g' \
	  etc/failover/failover.conf.sample > $(DESTDIR)$(SYSCONFDIR)/fluxgate/failover/failover.conf.sample
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/fluxgate/failover/keepalived.conf.sample \
	  $(DESTDIR)$(SYSCONFDIR)/fluxgate/failover/failover.conf.sample
	install -m 0644 etc/failover/conntrackd.conf.sample $(DESTDIR)$(SYSCONFDIR)/fluxgate/failover/
	install -d $(DESTDIR)$(PREFIX)/share/fluxgate/monitoring
	install -m 0644 etc/monitoring/fluxgate-alerts.yml etc/monitoring/fluxgate-alerts.test.yml \
	  etc/monitoring/fluxgated-dashboard.json $(DESTDIR)$(PREFIX)/share/fluxgate/monitoring/

clean:
	rm -rf build build-asan build-fuzz build-cov

help:
	@echo "targets: all (default) asan fuzz fuzz-campaign coverage check check-lab demo bench install clean lab-runs results"
