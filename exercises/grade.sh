#!/bin/sh
# grade.sh BUILD OUTDIR EXERCISE... -- run the graders `make grade` built, print the report and
# the total, and write OUTDIR/results.json in the Gradescope autograder format.
# A student file that did not compile has no grader binary: it scores 0 of the points its
# checks are worth (read from $BUILD/grade/info/NN_name --list) and the compiler's messages go
# into results.json. NN_GRADE_HIDDEN=1 in the environment selects the hidden seed set.
# Exits 0 whatever the score: this is a report.
B=$1
OUT=$2
shift 2
mkdir -p "$OUT"

# JSON string body from a text file: escape \ and ", turn newlines into \n, drop other
# control characters, keep it ASCII
json_text() {
    LC_ALL=C tr -d '\000-\010\013-\037' < "$1" | LC_ALL=C tr '\200-\377' '?' |
        sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk '{ printf "%s\\n", $0 }'
}

total=0
max=0
summary=""
tests=""
for e in "$@"; do
    bin="$B/grade/student/$e"
    frag="$OUT/$e.json"
    rm -f "$frag"
    if [ -x "$bin" ]; then
        "$bin" --json "$frag" > "$OUT/$e.txt" 2>&1
        cat "$OUT/$e.txt"
        line=$(grep '^score: ' "$OUT/$e.txt" | tail -n 1)
        if [ -z "$line" ] || [ ! -s "$frag" ]; then
            echo "grade: the grader of $e did not finish; it scores 0"
            line="score: 0/$("$B/grade/info/$e" --list 2>/dev/null | sed -n 's/^score: 0\///p')"
            printf '    {"name": "%s", "score": 0, "max_score": %s, "output": "the grader did not finish"}\n' \
                "$e" "${line#score: 0/}" > "$frag"
        fi
    else
        line=$("$B/grade/info/$e" --list 2>/dev/null | grep '^score: ' | tail -n 1)
        [ -n "$line" ] || line="score: 0/0"
        echo "exercise ${e%%_*} ${e#*_}: does not compile, 0/${line#score: 0/} points"
        {
            printf '    {"name": "%s %s: the student file compiles", "score": 0, "max_score": %s, "output": "' \
                "${e%%_*}" "${e#*_}" "${line#score: 0/}"
            [ -f "$OUT/$e.build.txt" ] && json_text "$OUT/$e.build.txt"
            printf '"}\n'
        } > "$frag"
    fi
    p=${line#score: }
    p=${p%/*}
    q=${line##*/}
    total=$((total + p))
    max=$((max + q))
    summary="$summary$(printf '%s: %s/%s\\n' "$e" "$p" "$q")"
    if [ -n "$tests" ]; then tests="$tests,
"; fi
    tests="$tests$(cat "$frag")"
    echo
done

echo "total: $total/$max points"
{
    printf '{\n  "score": %s,\n  "output": "%s",\n  "extra_data": {"max_score": %s},\n  "tests": [\n' \
        "$total" "$summary" "$max"
    printf '%s\n' "$tests"
    printf '  ]\n}\n'
} > "$OUT/results.json"
echo "wrote $OUT/results.json"
exit 0
