#!/bin/sh
# run.sh -- run every test binary given, then print one summary line.
# Each binary is a cmocka suite; a binary that fails or dies counts as failed.
# NN_WRAP, when set, prefixes every command (make valgrind sets it to valgrind).
passed=0; failed=0; failed_names=""
for t in "$@"; do
    echo "== $t"
    if $NN_WRAP "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_names="$failed_names $t"; fi
done
echo
[ $failed -gt 0 ] && echo "failed suites:$failed_names"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
