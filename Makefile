# deepc -- one entry point. `make help` lists everything.
#
#   make                 build build/libnn.a and every lesson
#   make lessonNN        build and run lesson NN (ARGS="--quick" passes flags)
#   make test            build and run the whole test suite
#   make sanitize        the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench           naive vs BLAS benchmarks (never part of the tests)
#   make clean           remove build/ and out/

CC      ?= cc
CFLAGS  ?= -O2 -march=x86-64-v2 -g
WARN    := -Wall -Wextra -Wno-unused-parameter
# -fno-trapping-math -fno-math-errno: we never read FP exception flags or errno, and without
# them GCC will not turn loops with selects or sqrt into SIMD code (values are unchanged)
BASE    := -std=c11 -D_DEFAULT_SOURCE -fopenmp -fno-trapping-math -fno-math-errno $(WARN)
LDLIBS  := -lopenblas -lz -lm -fopenmp

LIB_SRC    := $(sort $(wildcard lib/*.c))
# lesson 20 needs MPI (mpicc): lessons/mpi.mk builds it, so the rest never depends on MPI
LESSON_SRC := $(filter-out lessons/20_%,$(sort $(wildcard lessons/[0-9][0-9]_*.c)))
LESSONS    := $(patsubst lessons/%.c,%,$(LESSON_SRC))
LESSON_NUMS:= $(foreach l,$(LESSONS),$(firstword $(subst _, ,$(l))))
TEST_SRC   := $(sort $(wildcard tests/test_*.c))
GRAD_SRC   := $(sort $(wildcard tests/grad_*.c))

# float library (what lessons use) and double library (what gradient checks use)
B          ?= build
LIB_OBJ    := $(patsubst lib/%.c,$(B)/obj/%.o,$(LIB_SRC))
LIBD_OBJ   := $(patsubst lib/%.c,$(B)/objd/%.o,$(LIB_SRC))
DEPS_OK    := build/.deps-ok
# B is the build directory; `make sanitize` builds everything again in build/san

.PHONY: all help test sanitize bench clean deps lessons $(addprefix lesson,$(LESSON_NUMS))
.SECONDARY:

all: $(B)/libnn.a lessons

$(DEPS_OK): datasets/setup.sh
	@sh datasets/setup.sh
	@mkdir -p build && touch $@

deps: $(DEPS_OK)

$(B)/obj/%.o: lib/%.c lib/nn.h | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -c $< -o $@

$(B)/objd/%.o: lib/%.c lib/nn.h | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -DNN_DOUBLE -c $< -o $@

$(B)/libnn.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libnn_double.a: $(LIBD_OBJ)
	@rm -f $@
	ar rcs $@ $^

# lessons: lessons/07_cnn.c -> build/lesson07
define LESSON_RULE
$$(B)/lesson$(firstword $(subst _, ,$(1))): lessons/$(1).c $$(B)/libnn.a
	$$(CC) $$(BASE) $$(CFLAGS) -Ilib $$< $$(B)/libnn.a -o $$@ $$(LDLIBS)
lesson$(firstword $(subst _, ,$(1))): $$(B)/lesson$(firstword $(subst _, ,$(1)))
	./$$(B)/lesson$(firstword $(subst _, ,$(1))) $$(ARGS)
endef
$(foreach l,$(LESSONS),$(eval $(call LESSON_RULE,$(l))))

lessons: $(addprefix $(B)/lesson,$(LESSON_NUMS))

# tests: tests/test_*.c link the float library, tests/grad_*.c the double one
$(B)/tests/test_%: tests/test_%.c tests/nn_test.h $(B)/libnn.a
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) $< $(B)/libnn.a -o $@ -lcmocka $(LDLIBS)

$(B)/tests/grad_%: tests/grad_%.c tests/nn_test.h $(B)/libnn_double.a
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -DNN_DOUBLE $< $(B)/libnn_double.a -o $@ -lcmocka $(LDLIBS)

TEST_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(TEST_SRC) $(GRAD_SRC))

# the lesson smoke tests find the lesson binaries through NN_BUILD
test: $(TEST_BINS) lessons
	@NN_BUILD=$(B) sh tests/run.sh $(TEST_BINS)

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
sanitize: $(DEPS_OK)
	@$(MAKE) --no-print-directory test B=build/san CFLAGS="$(SAN_FLAGS)" \
	    LDLIBS="$(LDLIBS) -fsanitize=address,undefined"

clean:
	rm -rf build out

help:
	@echo "deepc: deep models from scratch in C"
	@echo
	@echo "  make                build build/libnn.a and every lesson"
	@echo "  make lessonNN       build and run lesson NN; ARGS=\"--quick\" passes flags"
	@echo "  make test           build and run the whole test suite"
	@echo "  make sanitize       the test suite under ASan + UBSan"
	@echo "  make grade          grade every exercise (EX=NN one, HIDDEN=1 the second seed set)"
	@echo "  make bench          naive vs BLAS kernels and training throughput (out/bench/)"
	@echo "  make valgrind       the suite and every lesson --quick under valgrind memcheck"
	@echo "  make fuzz           libFuzzer on every parser, FUZZ_SECONDS each (default 30)"
	@echo "  make clean          remove build/ and out/"
	@echo
	@echo "lessons:"
	@for l in $(LESSONS); do echo "  make lesson$${l%%_*}   ($${l#*_})"; done
	@echo "  make lesson20   (distributed: MPI, NP=2 ranks by default; installs OpenMPI)"

# graded exercises: make grade, make grade EX=07, make grade HIDDEN=1
-include exercises/grade.mk

# benchmarks: make bench (never part of the pass/fail tests, except bench --quick for correctness)
-include tests/bench.mk

# fuzzing: make fuzz (libFuzzer, clang)
-include tests/fuzz/fuzz.mk

# lesson 20, data-parallel training on MPI: make lesson20 (installs OpenMPI when missing)
-include lessons/mpi.mk

# valgrind memcheck over the test suites and every lesson in --quick mode: zero errors, zero
# definite or indirect leaks. Each suite and each lesson is one job; tests/valgrind.sh runs
# VALGRIND_JOBS of them at a time (the long ones first), each within VALGRIND_BUDGET
# seconds, logs in build/valgrind/. test_lessons is left out: it runs the same lessons again, one
# after another, for its sanity bars, which `make test` checks.
# Speed: valgrind runs FMA instructions through a software helper, one at a time, which makes
# OpenBLAS's default (FMA) kernels ~1000x slower than natively; its AVX kernels without FMA
# (OPENBLAS_CORETYPE=Sandybridge) and glibc's libm without FMA run ~20x faster under valgrind,
# with the same memory accesses to check. One thread per process: valgrind serializes threads.
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --show-leak-kinds=definite,indirect --suppressions=tests/valgrind.supp
VALGRIND_JOBS ?= 2
VALGRIND_BUDGET ?= 1500
VALGRIND_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive \
                GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA \
                $(if $(filter x86_64,$(shell uname -m)),OPENBLAS_CORETYPE=Sandybridge)
.PHONY: valgrind
valgrind: $(TEST_BINS) lessons
	@command -v valgrind >/dev/null || sh datasets/setup.sh valgrind
	@NN_BUILD=$(B) VALGRIND="$(VALGRIND)" VALGRIND_JOBS=$(VALGRIND_JOBS) VALGRIND_BUDGET=$(VALGRIND_BUDGET) \
	    $(VALGRIND_ENV) sh tests/valgrind.sh $(B)/tests/test_reliability $(addprefix $(B)/lesson,$(LESSON_NUMS)) \
	    $(filter-out %/test_lessons %/test_reliability,$(TEST_BINS))
