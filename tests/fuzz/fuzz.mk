# fuzz.mk -- libFuzzer targets for every parser: make fuzz (FUZZ_SECONDS=30 each by default).
# The library is rebuilt with clang and coverage instrumentation in $(B)/fuzz; seed corpora live
# in tests/fuzz/<target>/ and are copied to a scratch corpus so the repository stays clean.
FUZZ_TARGETS := idx checkpoint npy cli csv text
FUZZ_SECONDS ?= 30
FUZZ_CC      := clang
FUZZ_FLAGS   := -std=c11 -D_DEFAULT_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ     := $(patsubst lib/%.c,$(B)/fuzz/obj/%.o,$(LIB_SRC))

$(B)/fuzz/obj/%.o: lib/%.c lib/nn.h | $(DEPS_OK)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fopenmp -c $< -o $@

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ -lopenblas -lz -lm -fopenmp

.PHONY: fuzz fuzz-bins
fuzz-bins: $(addprefix $(B)/fuzz/fuzz_,$(FUZZ_TARGETS))

fuzz: fuzz-bins
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(B)/fuzz/corpus/$$t $(B)/fuzz/crashes/$$t; \
	    cp tests/fuzz/$$t/* $(B)/fuzz/corpus/$$t/ 2>/dev/null; \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	    $(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	        -artifact_prefix=$(B)/fuzz/crashes/$$t/ -print_final_stats=1 \
	        $(B)/fuzz/corpus/$$t 2>&1 | grep -E "^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|artifact_prefix)" ; \
	    if ls $(B)/fuzz/crashes/$$t/* >/dev/null 2>&1; then echo "fuzz_$$t: crash found, see $(B)/fuzz/crashes/$$t"; exit 1; fi; \
	done
