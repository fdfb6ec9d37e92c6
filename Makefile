# mod_orders: build, run and test.  See README.md.
#
#   make            build the module with apxs (warnings are errors)
#   make deps       install the Debian packages that are missing (as root)
#   make run        build and run Apache in the foreground on 127.0.0.1:$(PORT)
#   make start/stop the same server in the background
#   make test       unit tests, then integration tests against real httpd
#   make test SANITIZE=1   the same with ASan + UBSan (built in build/asan/)
#   make install    apxs -i, plus conf/orders.load and orders.conf for a2enmod
#
# `make` and the other targets that only build install nothing: they name
# what is missing and stop.  The targets that run something (run, start,
# test, unit, integration, fuzz, bench) first do `make deps`, so that a fresh
# Debian 12 needs nothing but `make run` or `make test` as root.
#
# The pure sources (mod_orders/ord_*.c: C, APR and json-c, no httpd header)
# are compiled once per variant into a static library, build/libord.a, that
# the module, the unit tests and the fuzz targets link; apxs compiles only
# the glue (mod_orders/mod_orders*.c).  Variants: plain (build/), SANITIZE=1
# (build/asan/) and libFuzzer (build/fuzz/).

PORT    ?= 8080
VAR     ?= $(CURDIR)/var
APXS    ?= apxs
PYTHON  ?= /usr/bin/python3
# `?=` alone would keep make's built-in cc.
ifeq ($(origin CC),default)
CC      := gcc
endif

DEB_PACKAGES := apache2 apache2-dev libaprutil1-dbd-sqlite3 \
                libaprutil1-dbd-pgsql libjson-c-dev libcmocka-dev libssl-dev \
                libcurl4-openssl-dev sqlite3 \
                python3 python3-pytest python3-pytest-xdist curl pkg-config \
                gcc make procps \
                postgresql-15 postgresql-client-15 apache2-utils \
                prometheus chromium wrk clang libclang-rt-14-dev \
                debhelper lintian fakeroot dpkg-dev \
                mariadb-server mariadb-client libaprutil1-dbd-mysql python3-pymysql \
                patroni etcd-server etcd-client python3-etcd \
                nghttp2-client openssl

# Wildcards, so that a unit added or removed needs no edit here.
SCHEMA   := mod_orders/ord_schema.h
PURE_SRC := $(sort $(wildcard mod_orders/ord_*.c))
GLUE_SRC := $(sort $(wildcard mod_orders/mod_orders*.c))
HEADERS  := $(sort $(wildcard mod_orders/*.h) $(SCHEMA))

# SANITIZE=1: the module, its library and the unit tests with ASan + UBSan,
# built apart in build/asan/ (the module from a tree of links to
# mod_orders/, since apxs puts its objects next to the sources), so that the
# normal build is left alone and switching back and forth rebuilds nothing.
# httpd itself is not instrumented: the tests run it with the ASan runtime
# preloaded.
SANITIZE  ?=
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
ifeq ($(SANITIZE),1)
OUT      := build/asan
SRC_DIR  := build/asan/src
MODULE   := build/asan/.libs/mod_orders.so
MOD_LA   := build/asan/mod_orders.la
CC_SAN   := $(SAN_FLAGS)
else
OUT      := build
SRC_DIR  := mod_orders
MODULE   := mod_orders/.libs/mod_orders.so
MOD_LA   := mod_orders/mod_orders.la
CC_SAN   :=
endif
LIB      := $(OUT)/libord.a
FUZZ_LIB := build/fuzz/libord.a
lib_objs  = $(patsubst mod_orders/%.c,$(1)/obj/%.o,$(PURE_SRC))
# The runtime that matches the compiler apxs uses, for LD_PRELOAD.
ASAN_LIB  = $(shell $$($(APXS) -q CC) -print-file-name=libasan.so)
# Leaks are errors in the unit tests; a report aborts (non-zero exit).
UNIT_SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

comma    := ,
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
JSON_CFLAGS = $(shell pkg-config --cflags json-c)
JSON_LIBS   = $(shell pkg-config --libs json-c)
# OpenSSL's HMAC-SHA256 for the webhooks' signatures (ord_webhook).
CRYPTO_LIBS = $(shell pkg-config --libs libcrypto)
# libcurl for the webhooks' deliveries (the module only).
CURL_LIBS   = $(shell pkg-config --libs libcurl)
APR_CFLAGS  = $(shell apr-1-config --cflags --cppflags --includes) \
              $(shell apu-1-config --includes)
APR_LIBS    = $(shell apu-1-config --link-ld) $(shell apr-1-config --link-ld)
# The library is part of the module: the code generation apxs gives the glue
# on Debian 12 (optimised, hardened), and -fPIC.  The test files themselves
# keep -O0.
LIB_CFLAGS  = -std=gnu99 -g -O2 -fPIC -fstack-protector-strong -Wformat \
              -Werror=format-security -Wdate-time -D_FORTIFY_SOURCE=2 \
              $(WARN) $(APR_CFLAGS) $(JSON_CFLAGS)
TEST_CFLAGS = -std=gnu99 -g $(WARN) $(APR_CFLAGS) $(JSON_CFLAGS) -Imod_orders
FUZZ_CFLAGS = -std=gnu99 -g -O1 -fno-sanitize-recover=undefined $(WARN) \
              $(APR_CFLAGS) $(JSON_CFLAGS)
# Each object's headers, found by the compiler: a header touched rebuilds
# what includes it and nothing else.
DEP_FLAGS  := -MMD -MP

UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUT)/%,$(wildcard tests/unit/test_*.c))
UNIT_OBJS  := $(patsubst $(OUT)/%,$(OUT)/unit/%.o,$(UNIT_TESTS))

.PHONY: all deps run start stop test unit integration install clean bench \
        fuzz fuzz-smoke unit-valgrind deb

all: $(MODULE)

# A recipe that fails leaves no half-written target behind.
.DELETE_ON_ERROR:

# The targets that run something install what is missing first, and then
# nothing compiles before the packages are in (with -j too).
DEPS_GOALS := run start test bench unit integration fuzz fuzz-smoke \
              unit-valgrind valgrind-unit docs-deps deb
GOALS      := $(or $(MAKECMDGOALS),all)
DEPS_FIRST := $(if $(filter $(DEPS_GOALS),$(GOALS)),build/.deps)

# Installs what is missing, once per package list.  The packages' own
# services (PostgreSQL's and MariaDB's clusters, Prometheus, Apache) are not
# started: the tests run private servers, and nothing else should listen
# (policy-rc.d, for the install only, where the machine has none).
deps: build/.deps
build/.deps: Makefile
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "missing Debian packages:$$missing (run as root to install)"; \
	    exit 1; fi; \
	  echo "installing:$$missing"; \
	  deny=""; if [ ! -e /usr/sbin/policy-rc.d ]; then deny=1; \
	    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
	    chmod 755 /usr/sbin/policy-rc.d; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  rc=$$?; [ -z "$$deny" ] || rm -f /usr/sbin/policy-rc.d; \
	  [ $$rc = 0 ] || exit $$rc; \
	fi; \
	if ! command -v npm >/dev/null; then \
	  echo "installing: nodejs npm"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm \
	    >/dev/null; fi
	@mkdir -p build && touch $@

# Any other goal (`make`, install, a single file) only builds: what it
# needs is checked when the Makefile is read, before anything compiles, and
# everything missing is named in one message.  A check here rather than in
# a recipe keeps a second `make` silent.
CHECK_GOALS := $(filter-out deps clean stop $(DEPS_GOALS),$(GOALS))
ifneq ($(CHECK_GOALS),)
NEED_CMDS := $(CC) pkg-config apr-1-config apu-1-config
NEED_PKGS := json-c libcrypto libcurl
ifneq ($(filter-out build/test_% build/asan/test_% build/fuzz_% %.o %.a,$(CHECK_GOALS)),)
NEED_CMDS += $(APXS)
endif
ifneq ($(filter build/test_% build/asan/test_%,$(CHECK_GOALS)),)
NEED_PKGS += cmocka
endif
ifneq ($(filter build/fuzz_% build/fuzz/%,$(CHECK_GOALS)),)
NEED_CMDS += clang
endif
MISSING := $(shell for c in $(NEED_CMDS); do \
             command -v $$c >/dev/null 2>&1 || printf ' %s' $$c; done; \
           for p in $(NEED_PKGS); do \
             pkg-config --exists $$p 2>/dev/null || printf ' %s' $$p; done)
ifneq ($(MISSING),)
$(error missing:$(MISSING); run 'make deps' (as root) to install them)
endif
endif

# The schema lives once, in sql/; the module embeds the same text, one
# ord_schema_<name> per sql/<name>.sql (postgresql.sql is ord_schema_pgsql).
# sql/ itself is a prerequisite so that a file removed from it counts.
SCHEMA_SQL := $(sort $(wildcard sql/*.sql))
$(SCHEMA): $(SCHEMA_SQL) sql
	@{ echo '/* Generated by make from sql/: do not edit. */'; \
	   for f in $(SCHEMA_SQL); do \
	     n=$$(basename $$f .sql); [ $$n = postgresql ] && n=pgsql; \
	     echo "static const char ord_schema_$$n[] ="; \
	     sed -e '/^--/d' -e 's/\\/\\\\/g' -e 's/"/\\"/g' \
	         -e 's/^/    "/' -e 's/$$/\\n"/' $$f || exit 1; \
	     echo ';'; done; } > $@

# An archive holding a member whose source is gone (removed or renamed) is
# rebuilt, or the old code could still be linked.
stale_lib = $(if $(filter-out $(notdir $(call lib_objs,$(1))),\
              $(shell $(AR) t $(1)/libord.a 2>/dev/null)),FORCE)
.PHONY: FORCE
FORCE:

# The library, once per variant.  The generated header is order-only: it
# must exist before the first compile; after that the .d files say who
# includes it.  The archive is written anew, so that a removed source
# leaves nothing behind in it.
build/obj/%.o: mod_orders/%.c | $(SCHEMA) $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(DEP_FLAGS) -c -o $@ $<
build/asan/obj/%.o: mod_orders/%.c | $(SCHEMA) $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) $(SAN_FLAGS) $(DEP_FLAGS) -c -o $@ $<
build/fuzz/obj/%.o: mod_orders/%.c | $(SCHEMA) $(DEPS_FIRST)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	  $(DEP_FLAGS) -c -o $@ $<
build/libord.a: $(call lib_objs,build) $(call stale_lib,build)
build/asan/libord.a: $(call lib_objs,build/asan) $(call stale_lib,build/asan)
build/fuzz/libord.a: $(call lib_objs,build/fuzz) $(call stale_lib,build/fuzz)
build/libord.a build/asan/libord.a build/fuzz/libord.a:
	@rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

# apxs compiles the glue and links it with the library (only the members
# the glue uses end up in the .so), so a change to the library rebuilds the
# module.  The glue's headers are listed by the preprocessor first, in
# $(OUT)/module.d: libtool's link deletes a .libs/mod_orders.d that -MMD
# would leave there.
$(MODULE): $(GLUE_SRC) $(LIB) | $(DEPS_FIRST)
	@mkdir -p $(OUT) $(SRC_DIR)
	@[ $(SRC_DIR) = mod_orders ] || for f in $(notdir $(GLUE_SRC) \
	    $(HEADERS)); do \
	  ln -sfn ../../../mod_orders/$$f $(SRC_DIR)/$$f; done
	@$(CC) -MM -MP -MT $(MODULE) -I$$($(APXS) -q INCLUDEDIR) $(APR_CFLAGS) \
	  $(JSON_CFLAGS) $(GLUE_SRC) >$(OUT)/module.d.tmp \
	  && mv $(OUT)/module.d.tmp $(OUT)/module.d
	$(APXS) -c -o $(MOD_LA) $(addprefix -Wc$(comma),$(WARN) $(CC_SAN)) \
	  $(addprefix -Wl$(comma),$(CC_SAN)) \
	  -Wc,-std=gnu99 $(addprefix -Wc$(comma),$(JSON_CFLAGS)) \
	  $(addprefix $(SRC_DIR)/,$(notdir $(GLUE_SRC))) $(LIB) \
	  $(JSON_LIBS) $(CRYPTO_LIBS) $(CURL_LIBS) >$(OUT)/apxs.log 2>&1 \
	  || { cat $(OUT)/apxs.log; exit 1; }

# A unit test: its one file, linked with the library.  The objects are kept
# (not make's intermediates) so that a change to the library only relinks.
.SECONDARY: $(UNIT_OBJS)
$(OUT)/unit/%.o: tests/unit/%.c | $(SCHEMA) $(DEPS_FIRST)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(CC_SAN) $(DEP_FLAGS) -c -o $@ $<
$(OUT)/test_%: $(OUT)/unit/test_%.o $(LIB)
	$(CC) -g $(CC_SAN) -o $@ $^ $(APR_LIBS) $(JSON_LIBS) $(CRYPTO_LIBS) -lcmocka

unit: build/.deps $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; \
	  $(if $(CC_SAN),$(UNIT_SAN_ENV)) $$t; done

# The unit tests under valgrind: any error or leak fails.  Always the plain
# build (valgrind and ASan do not mix).
unit-valgrind:
	@$(MAKE) --no-print-directory SANITIZE= valgrind-unit
.PHONY: valgrind-unit
valgrind-unit: build/.deps $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=1 --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect,possible $$t; done

# ORDERS_SANITIZE names the ASan runtime the tests preload into httpd.
# PYTEST_WORKERS: test files run in that many pytest-xdist workers at once,
# each file whole in one worker (--dist loadfile: a file's servers and
# databases are its own); 0 runs them one after another in this process.
PYTEST_WORKERS ?= 2
integration: build/.deps $(MODULE) docs-deps
	ORDERS_MODULE=$(CURDIR)/$(MODULE) \
	  $(if $(CC_SAN),ORDERS_SANITIZE=$(ASAN_LIB)) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider \
	  -n $(PYTEST_WORKERS) --dist loadfile tests/integration

test: unit fuzz-smoke integration

# libFuzzer targets (tests/fuzz) with ASan and UBSan: `make fuzz` runs each
# for FUZZ_SECONDS (60), `make test` for a few seconds.  New inputs go to
# build/corpus/; the seeds in tests/fuzz/corpus/ are only read.  Each is
# its one file linked with build/fuzz/libord.a.
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJS    := $(patsubst build/%,build/fuzz/%.o,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 60
.SECONDARY: $(FUZZ_OBJS)
build/fuzz/fuzz_%.o: tests/fuzz/fuzz_%.c | $(SCHEMA) $(DEPS_FIRST)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	  -Imod_orders -Itests/fuzz $(DEP_FLAGS) -c -o $@ $<
build/fuzz_%: build/fuzz/fuzz_%.o $(FUZZ_LIB)
	clang -g -fsanitize=fuzzer,address,undefined -o $@ $^ \
	  $(APR_LIBS) $(JSON_LIBS) $(CRYPTO_LIBS)

fuzz: build/.deps $(FUZZ_TARGETS)
	@set -e; for t in $(FUZZ_TARGETS); do n=$${t#build/fuzz_}; \
	  mkdir -p build/corpus/$$n; echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  if ! $$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      -artifact_prefix=build/ build/corpus/$$n tests/fuzz/corpus/$$n \
	      > build/fuzz_$$n.log 2>&1; then \
	    tail -40 build/fuzz_$$n.log; echo "fuzz_$$n found a crash"; exit 1; \
	  fi; grep -E '^(Done|stat::number_of_executed_units)' build/fuzz_$$n.log; \
	  done

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5

# Not part of `make test`: speed is measured here, never asserted in tests.
DB ?= sqlite3
bench: build/.deps $(MODULE) build/receiver
	DB=$(DB) $(PYTHON) tests/bench/bench.py

# The webhook receiver of the bench, in C: it shares the cores it measures.
build/receiver: tests/bench/receiver.c
	@mkdir -p build
	$(CC) -O2 $(WARN) -o $@ $<

# npm packages of the API docs (swagger-ui-dist, served at /docs) and of
# their tests (the OpenAPI validator, playwright-core), each exactly as its
# package-lock.json says; reinstalled only when the lock file is newer.
.PHONY: docs-deps
docs-deps: build/.deps
	@for d in conf/docs tests/browser; do \
	  stamp=$$d/node_modules/.package-lock.json; \
	  if [ ! -f $$stamp ] || [ $$d/package-lock.json -nt $$stamp ]; then \
	    echo "npm ci --prefix $$d"; \
	    SCARF_ANALYTICS=false npm ci --prefix $$d --ignore-scripts --no-audit \
	      --no-fund --loglevel=error || exit 1; \
	    touch $$stamp; fi; done

# The server of `make run`: conf/orders-server.conf.in rendered into $(VAR).
run: build/.deps $(MODULE) docs-deps
	@sh conf/render.sh $(VAR) $(PORT) sqlite3
	exec apache2 -f $(VAR)/httpd.conf -DFOREGROUND

start: build/.deps $(MODULE) docs-deps
	@sh conf/render.sh $(VAR) $(PORT) sqlite3
	apache2 -f $(VAR)/httpd.conf -k start
	@for i in $$(seq 100); do \
	  curl -fsS -o /dev/null http://127.0.0.1:$(PORT)/metrics && exit 0; \
	  sleep 0.1; done; echo "server did not answer"; exit 1

stop:
	@if [ -f $(VAR)/run/httpd.pid ]; then \
	  pid=$$(cat $(VAR)/run/httpd.pid); kill -TERM $$pid; \
	  for i in $$(seq 100); do kill -0 $$pid 2>/dev/null || exit 0; \
	    sleep 0.1; done; echo "httpd $$pid did not stop"; exit 1; fi

install: $(MODULE)
	$(APXS) -i -n orders mod_orders/mod_orders.la
	@if [ -d /etc/apache2/mods-available ]; then \
	  install -m 644 conf/orders.load conf/orders.conf \
	    /etc/apache2/mods-available/; fi

# The Debian package (debian/), built from a copy of the working tree's files
# (tracked, and new ones not ignored: no build output) in build/deb/src,
# since dpkg-buildpackage writes into the parent directory.  The .deb is
# left in build/deb/.  Binary only (-b): there is no upstream tarball.
deb: build/.deps
	rm -rf build/deb && mkdir -p build/deb/src
	git ls-files -z --cached --others --exclude-standard \
	  | xargs -0 sh -c 'for f; do [ ! -e "$$f" ] || printf "%s\0" "$$f"; done' sh \
	  | tar --null -T - -cf - | tar -xf - -C build/deb/src
	cd build/deb/src && dpkg-buildpackage -b -us -uc -Jauto >../build.log 2>&1 \
	  || { tail -40 ../build.log; exit 1; }
	@ls build/deb/*.deb

clean:
	rm -rf build mod_orders/.libs mod_orders/*.la mod_orders/*.lo \
	  mod_orders/*.slo mod_orders/*.o mod_orders/ord_schema.h

# The headers each object, test and module was built from (-MMD -MP above),
# of every variant.
-include $(wildcard build/obj/*.d build/asan/obj/*.d build/fuzz/obj/*.d \
           build/unit/*.d build/asan/unit/*.d build/fuzz/*.d \
           build/module.d build/asan/module.d)
