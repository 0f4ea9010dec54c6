# Lifeline — one non-recursive GNU Makefile.
#
# Layout: proto/*.c -> libproto.a (pure), common/*.c -> libcommon.a (I/O),
# every tools/NAME.c -> $(BUILD)/NAME, vessel/ and shore/ mains later.
# Tests: tests/unit/test_NAME.c each define suite_NAME(); tests/fuzz/fuzz_NAME.c
# each define a libFuzzer entry point whose corpus tests/fuzz/corpus/NAME/ is
# replayed by the same runner.  One runner, one closing line "N passed, N failed".
#
# Variables: BUILD (output folder), CC, EXTRA_CFLAGS, EXTRA_LDFLAGS,
# FUZZ_SECONDS (make fuzz), SUITE (run one suite: make test SUITE=frame),
# SANITIZE_BUILD and FUZZ_BUILD (default: under BUILD).

BUILD        ?= build
CC           ?= cc
FUZZ_SECONDS ?= 60
VERSION      := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

PKGS      := libserialport zlib sqlite3 libsodium libcurl libmicrohttpd
TEST_PKGS := cunit

# Flags from pkg-config, cached by the dependency check (see config.mk below).
ifeq ($(filter clean deps,$(MAKECMDGOALS)),)
-include $(BUILD)/config.mk
endif

CPPFLAGS += -I. -DLIFELINE_VERSION='"$(VERSION)"' -D_GNU_SOURCE
CFLAGS_BASE := -std=c11 -g -O2 -MMD -MP -fno-common
WARN := -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-unused-parameter -Werror
# proto/, common/, daemons and tools: the strict set.  Tests: without
# -Wconversion, whose noise in CUnit assertion macros hides real findings.
STRICT := $(WARN) -Wconversion -Wsign-conversion
CFLAGS_ALL  = $(CFLAGS_BASE) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS_ALL  = $(PKG_LIBS) -lm $(EXTRA_LDFLAGS)

PROTO_SRC  := $(sort $(wildcard proto/*.c))
COMMON_SRC := $(sort $(wildcard common/*.c))
VESSEL_LIB := $(filter-out vessel/vesseld.c vessel/vesselctl.c,$(sort $(wildcard vessel/*.c)))
SHORE_LIB  := $(filter-out shore/shored.c shore/shorectl.c,$(sort $(wildcard shore/*.c)))
TOOL_SRC   := $(sort $(wildcard tools/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
E2E_SRC    := $(sort $(wildcard tests/e2e/test_*.c))
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
TESTLIB_SRC:= $(sort $(wildcard tests/lib/*.c))
SHIM_SRC   := $(sort $(wildcard tests/shim/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

PROTO_LIB  := $(BUILD)/libproto.a
COMMON_LIB := $(BUILD)/libcommon.a
VLIB       := $(BUILD)/libvessel.a
SLIB       := $(BUILD)/libshore.a
TOOLS      := $(patsubst tools/%.c,$(BUILD)/%,$(TOOL_SRC))
DAEMONS    := $(patsubst %.c,$(BUILD)/%,$(notdir $(wildcard vessel/vesseld.c vessel/vesselctl.c shore/shored.c shore/shorectl.c)))
RUNNER     := $(BUILD)/lifeline-tests
SHIMS      := $(patsubst tests/shim/%.c,$(BUILD)/%.so,$(SHIM_SRC))

.PHONY: demo chaos install all deps test unit sanitize valgrind fuzz fuzz-bins bench clean layering
# Keep object files of tools: make would otherwise delete them as
# intermediates after every build (and rebuild them next time).
.SECONDARY:
.DEFAULT_GOAL := all

all: $(BUILD)/config.mk $(TOOLS) $(DAEMONS)

# ---- dependencies ---------------------------------------------------------
# config.mk is remade (and make restarts) whenever it is missing: the check
# installs what is missing, then records the pkg-config flags.
$(BUILD)/config.mk: tools/deps.sh
	@mkdir -p $(BUILD)
	@sh tools/deps.sh check-or-install
	@{ echo "PKG_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	   echo "PKG_LIBS := $$(pkg-config --libs $(PKGS))"; \
	   echo "TEST_CFLAGS := $$(pkg-config --cflags $(TEST_PKGS))"; \
	   echo "TEST_LIBS := $$(pkg-config --libs $(TEST_PKGS))"; } > $@.tmp && mv $@.tmp $@

deps:
	@sh tools/deps.sh install

# ---- libraries ------------------------------------------------------------
$(BUILD)/obj/proto/%.o: proto/%.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(STRICT) -c $< -o $@
$(BUILD)/obj/common/%.o: common/%.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(STRICT) -c $< -o $@
$(BUILD)/obj/vessel/%.o: vessel/%.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(STRICT) -c $< -o $@
$(BUILD)/obj/shore/%.o: shore/%.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(STRICT) -c $< -o $@
$(BUILD)/obj/tools/%.o: tools/%.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(STRICT) -c $< -o $@

$(PROTO_LIB): $(call obj,$(PROTO_SRC)) $(BUILD)/obj/empty.o
	@rm -f $@
	$(AR) rcs $@ $^
$(COMMON_LIB): $(call obj,$(COMMON_SRC)) $(BUILD)/obj/empty.o
	@rm -f $@
	$(AR) rcs $@ $^
$(VLIB): $(call obj,$(VESSEL_LIB)) $(BUILD)/obj/empty.o
	@rm -f $@
	$(AR) rcs $@ $^
$(SLIB): $(call obj,$(SHORE_LIB)) $(BUILD)/obj/empty.o
	@rm -f $@
	$(AR) rcs $@ $^
$(BUILD)/obj/empty.o: $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	echo 'extern int lifeline_empty_unit; int lifeline_empty_unit;' | $(CC) -x c -c - -o $@

LIBS := $(VLIB) $(SLIB) $(COMMON_LIB) $(PROTO_LIB)

# ---- programs -------------------------------------------------------------
$(BUILD)/%: $(BUILD)/obj/tools/%.o $(LIBS)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS) $(LDLIBS_ALL)
$(BUILD)/vesseld $(BUILD)/vesselctl: $(BUILD)/%: $(BUILD)/obj/vessel/%.o $(LIBS)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS) $(LDLIBS_ALL)
$(BUILD)/shored $(BUILD)/shorectl: $(BUILD)/%: $(BUILD)/obj/shore/%.o $(LIBS)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIBS) $(LDLIBS_ALL)

# ---- tests ----------------------------------------------------------------
# The suite list is generated from file names so that adding a test file
# needs no edit here.
$(BUILD)/suites.inc: $(UNIT_SRC) $(E2E_SRC) $(FUZZ_SRC) Makefile
	@mkdir -p $(BUILD)
	@{ for f in $(UNIT_SRC) $(E2E_SRC); do n=$$(basename $$f .c); echo "SUITE($${n#test_})"; done; \
	   for f in $(FUZZ_SRC); do n=$$(basename $$f .c); echo "FUZZ($${n#fuzz_})"; done; } > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

TEST_FLAGS = $(CPPFLAGS) $(CFLAGS_ALL) $(TEST_CFLAGS) $(WARN)
$(BUILD)/obj/tests/%.o: tests/%.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(TEST_FLAGS) -c $< -o $@
# Each fuzz target's entry point is renamed so that all of them link into
# the one runner that replays their corpora.
$(BUILD)/obj/tests/fuzz/fuzz_%.o: tests/fuzz/fuzz_%.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(TEST_FLAGS) -DLLVMFuzzerTestOneInput=fuzz_entry_$* -c $< -o $@
$(BUILD)/obj/tests/runner.o: $(BUILD)/suites.inc
$(BUILD)/obj/tests/runner.o: CPPFLAGS += -I$(BUILD)

RUNNER_OBJ := $(call obj,tests/runner.c $(UNIT_SRC) $(E2E_SRC) $(FUZZ_SRC) $(TESTLIB_SRC))
$(RUNNER): $(RUNNER_OBJ) $(LIBS)
	$(CC) $(CFLAGS_ALL) -o $@ $(RUNNER_OBJ) $(LIBS) $(LDLIBS_ALL) $(TEST_LIBS)

$(BUILD)/%.so: tests/shim/%.c $(BUILD)/config.mk
	$(CC) $(CPPFLAGS) $(CFLAGS_BASE) $(WARN) -fPIC -shared -o $@ $< -ldl

test: $(BUILD)/config.mk layering $(RUNNER) $(TOOLS) $(DAEMONS) $(SHIMS)
	@LIFELINE_BUILD=$(abspath $(BUILD)) LIFELINE_SRC=$(CURDIR) $(RUNNER) $(SUITE)

unit: test

SANITIZE_BUILD ?= $(BUILD)/sanitize
sanitize:
	$(MAKE) BUILD=$(SANITIZE_BUILD) EXTRA_CFLAGS='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
	        EXTRA_LDFLAGS='-fsanitize=address,undefined' test

valgrind: $(BUILD)/config.mk $(RUNNER) $(TOOLS) $(DAEMONS) $(SHIMS)
	LIFELINE_BUILD=$(abspath $(BUILD)) LIFELINE_SRC=$(CURDIR) LIFELINE_NO_E2E=1 \
	  valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite $(RUNNER) $(SUITE)

# ---- fuzzing (clang + libFuzzer) ------------------------------------------
FUZZ_BUILD ?= $(BUILD)/fuzz
FUZZ_BINS  := $(patsubst tests/fuzz/fuzz_%.c,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_SRC))
fuzz: $(BUILD)/config.mk
	$(MAKE) BUILD=$(FUZZ_BUILD) FUZZ_BUILD=$(FUZZ_BUILD) CC=clang \
	  EXTRA_CFLAGS='-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer' \
	  EXTRA_LDFLAGS='-fsanitize=address,undefined' fuzz-bins
	@for b in $(FUZZ_BINS); do n=$${b##*/fuzz_}; mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  echo "== fuzz $$n for $(FUZZ_SECONDS)s"; \
	  $$b -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      $$( [ -f tests/fuzz/$$n.dict ] && echo -dict=tests/fuzz/$$n.dict ) \
	      $(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n || exit 1; done

fuzz-bins: $(FUZZ_BINS)
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(LIBS)
	$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(TEST_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIBS) $(LDLIBS_ALL)

# ---- demo -----------------------------------------------------------------
demo: all
	@sh tools/demo.sh $(BUILD)

# ---- chaos ----------------------------------------------------------------
# make chaos N=10000 KILLS=20 [SEED=3]: the chaos suite at any size.
N     ?= 400
KILLS ?= 8
SEED  ?= 1
chaos: $(BUILD)/config.mk $(RUNNER) $(TOOLS) $(DAEMONS)
	@LIFELINE_BUILD=$(abspath $(BUILD)) LIFELINE_SRC=$(CURDIR) LIFELINE_CHAOS_N=$(N) \
	  LIFELINE_CHAOS_KILLS=$(KILLS) LIFELINE_CHAOS_SEED=$(SEED) $(RUNNER) chaos

# ---- benchmarks -----------------------------------------------------------
bench: all
	@sh tools/bench.sh $(BUILD)

# ---- house rules ----------------------------------------------------------
# proto/ is pure; vessel/ and shore/ never include each other.
layering:
	@bad=$$(grep -nE '#include *"(common|vessel|shore)/' proto/*.[ch] 2>/dev/null; \
	        grep -nE '#include *"(vessel|shore)/' common/*.[ch] 2>/dev/null; \
	        grep -nE '#include *"shore/' vessel/*.[ch] 2>/dev/null; \
	        grep -nE '#include *"vessel/' shore/*.[ch] 2>/dev/null); \
	 if [ -n "$$bad" ]; then echo "layering violated:"; echo "$$bad"; exit 1; fi

# ---- install ---------------------------------------------------------------
# make install PREFIX=/usr/local DESTDIR=/tmp/stage
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc/lifeline
BINDIR     := $(PREFIX)/bin
SBINDIR    := $(PREFIX)/sbin
MANDIR     := $(PREFIX)/share/man
DOCDIR     := $(PREFIX)/share/doc/lifeline
UNITDIR    := $(PREFIX)/lib/systemd/system
SYSUSERSDIR:= $(PREFIX)/lib/sysusers.d
USER_PROGS := vesselctl shorectl satsim linktest lifeline-keygen lifeline-verify lifeline-inspect
MANPAGES   := $(wildcard tools/man/*.[18])
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DOCDIR) \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	for p in $(USER_PROGS); do [ ! -e $(BUILD)/$$p ] || install -m 0755 $(BUILD)/$$p $(DESTDIR)$(BINDIR)/; done
	for p in vesseld shored; do [ ! -e $(BUILD)/$$p ] || install -m 0755 $(BUILD)/$$p $(DESTDIR)$(SBINDIR)/; done
	for f in $(wildcard vessel/*.sample shore/*.sample) README.md proto/PROTOCOL.md; do \
	  install -m 0644 $$f $(DESTDIR)$(DOCDIR)/; done
	for u in tools/systemd/*.service; do \
	  sed -e 's#@SBINDIR@#$(SBINDIR)#g' -e 's#@SYSCONFDIR@#$(SYSCONFDIR)#g' $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	for m in $(MANPAGES); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	install -m 0644 tools/systemd/lifeline.sysusers $(DESTDIR)$(SYSUSERSDIR)/lifeline.conf
	@echo "installed under $(DESTDIR)$(PREFIX); next: systemd-sysusers (makes the lifeline user),"
	@echo "copy a sample from $(DOCDIR) to $(SYSCONFDIR)/, then systemctl enable --now vesseld (or shored)"

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
