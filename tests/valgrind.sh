#!/bin/sh
# valgrind.sh -- valgrind memcheck over independent jobs, several at a time (make valgrind).
#
#   sh tests/valgrind.sh JOB...     each JOB a test binary (build/tests/test_x) or a lesson
#                                   (build/lesson07, run as: build/lesson07 --quick --threads 1)
#
# Environment: VALGRIND (the valgrind command line; it must exit 99 on an error or a leak),
# VALGRIND_JOBS (how many at once, default 2), VALGRIND_BUDGET (seconds one job may take,
# default 1500), NN_BUILD (the build directory: logs go to $NN_BUILD/valgrind/).
# The suites that start lessons themselves (test_reliability, test_bench) get NN_WRAP=$VALGRIND,
# so those lessons run under valgrind too.
#
# Prints one line per job as it ends -- its result and seconds -- and a summary line; exits 1
# when any job had a memcheck error or leak, failed its tests, or ran past its budget.
set -u
: "${VALGRIND:?VALGRIND is the valgrind command line}"
jobs=${VALGRIND_JOBS:-2}
budget=${VALGRIND_BUDGET:-1500}
logs=${NN_BUILD:-build}/valgrind
export VALGRIND budget logs

# one job (the script calls itself with --one JOB for each): its log in $logs/NAME.log, its
# result line in $logs/NAME.result
if [ "${1:-}" = --one ]; then
    job=$2
    name=$(basename "$job")
    began=$(date +%s)
    case $name in
        lesson*) set -- "$job" --quick --threads 1 --out "$logs/out/$name" ;;
        *) set -- "$job" ;;
    esac
    NN_WRAP="$VALGRIND" timeout "$budget" $VALGRIND "$@" >"$logs/$name.log" 2>&1
    rc=$?
    took=$(($(date +%s) - began))
    case $rc in
        0) result="ok" ;;
        99) result="FAILED: memcheck errors or leaks" ;;
        124) result="FAILED: over the budget of $budget s" ;;
        *) result="FAILED: exit status $rc" ;;
    esac
    line=$(printf '%-20s %5d s  %s' "$name" "$took" "$result")
    [ $rc -ne 0 ] && line="$line (log: $logs/$name.log)"
    echo "$line" | tee "$logs/$name.result"
    exit 0
fi

rm -rf "$logs"
mkdir -p "$logs/out"
began=$(date +%s)
echo "valgrind: $# jobs, $jobs at a time, logs in $logs/"
printf '%s\n' "$@" | xargs -P "$jobs" -n 1 sh "$0" --one
passed=$(grep -l '  ok$' "$logs"/*.result 2>/dev/null | wc -l)
failed=$(($# - passed))
echo
[ "$failed" -gt 0 ] && grep -h FAILED "$logs"/*.result
echo "valgrind: $(($(date +%s) - began)) s in all"
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
