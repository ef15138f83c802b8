# bench.mk -- benchmarks; included by the top-level Makefile.
#
#   make bench                   naive vs BLAS: GEMM, conv2d, nn_gemm overhead, training
#                                throughput; table on stdout, bench.csv + figure in out/bench/
#   make bench ARGS="--threads 1"  flags go to the program (./build/bench --help lists them)
#
# Timing is never a pass/fail test. `make test` runs `bench --quick` only as a correctness
# check (tests/test_bench.c): every fast path against its naive twin, in a few seconds.

$(B)/bench: tests/bench.c lib/nn.h $(B)/libnn.a
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -Ilib $< $(B)/libnn.a -o $@ $(LDLIBS)

bench: $(B)/bench
	./$(B)/bench --out out/bench $(ARGS)

# tests/test_bench.c runs $(B)/bench --quick
test: $(B)/bench
