# Sourced by .ci/run: the summary machinery of the CI run (see the header of .ci/run), kept
# apart so tests/ci/summary_test.ts can feed it logs. Needs bash; writes under .ci/out/ of the
# current directory. Call ci_reset first and ci_summary last.

# ci_reset: empties .ci/out/{counts,ignored,problems}; STRICT=1 under CI=true.
ci_reset() {
  mkdir -p .ci/out
  : >.ci/out/counts   # one line per test stage: "<stage> <passed> <failed> <ignored>"
  : >.ci/out/ignored  # one line per ignored test or step: "<stage>: <file> => <name>"
  : >.ci/out/problems # setup problems that fail the run under CI=true
  STRICT=0
  [ "${CI:-}" = true ] && STRICT=1
  return 0
}

# missing WHAT WHY: a tool the tests need is not there and could not be installed.
missing() {
  if [ "$STRICT" = 1 ]; then
    echo "error: $1: $2 (CI=true: this fails the run)" >&2
    printf '%s: %s\n' "$1" "$2" >>.ci/out/problems
  else
    echo "warning: $1: $2; the tests that need it will skip (under CI=true this fails the run)" >&2
  fi
}

# record_stage NAME LOG RC: adds a `deno test` run's counts (its last summary line, e.g.
# "ok | 12 passed (3 steps) | 0 failed | 2 ignored (1 step) (9s)") and the names of its
# ignored tests to the summary. No summary line, or a non-zero exit with no failed test (a
# timeout kill, an error after the tests), counts as one failure.
record_stage() {
  local name=$1 logfile=$2 rc=$3 line passed failed ignored steps
  line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$logfile" | tail -1)
  if [ -z "$line" ]; then
    echo "stage $name: no deno test summary (exit $rc): counted as 1 failed"
    echo "$name 0 1 0" >>.ci/out/counts
    return
  fi
  passed=$(sed -nE 's/^[^|]*\| ([0-9]+) passed.*/\1/p' <<<"$line")
  failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$line")
  ignored=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$line")
  steps=$(sed -nE 's/.*\| [0-9]+ ignored \(([0-9]+) steps?\).*/\1/p' <<<"$line")
  ignored=$((${ignored:-0} + ${steps:-0}))
  if [ "$rc" != 0 ] && [ "${failed:-0}" = 0 ]; then
    echo "stage $name: exit $rc with no failed test: counted as 1 failed"
    failed=1
  fi
  echo "$name ${passed:-0} ${failed:-0} $ignored" >>.ci/out/counts
  # "<file> => <name> ... ignored (0ms)" under --parallel; "<name> ... ignored (0ms)" after a
  # "running N tests from <file>" header otherwise (steps are indented).
  awk -v stage="$name" '
    /^running [0-9]+ tests? from / { file = $NF; next }
    / \.\.\. ignored( \([^)]*\))?$/ {
      line = $0
      sub(/ \.\.\. ignored( \([^)]*\))?$/, "", line)
      sub(/^ +/, "", line)
      if (line !~ / => / && file != "") line = file " => " line
      print stage ": " line
    }' "$logfile" >>.ci/out/ignored
}

# run_stage NAME CMD...: runs CMD (a `deno test ...`) with NO_COLOR, output tee'd to
# .ci/out/NAME.log, and records it.
run_stage() {
  local name=$1 rc
  shift
  NO_COLOR=1 "$@" 2>&1 | tee ".ci/out/$name.log"
  rc=${PIPESTATUS[0]}
  record_stage "$name" ".ci/out/$name.log" "$rc"
}


# ci_summary STATIC_RC: prints each stage's counts, every ignored test by name, the missing
# tools, and last the line "N passed, M failed, K skipped"; returns non-zero when a test failed,
# the static checks failed (STATIC_RC != 0), a tool was missing under CI=true, or no stage ran.
ci_summary() {
  local static_rc=${1:-0} stage p f k total_passed total_failed total_skipped
  while read -r stage p f k; do
    echo "stage $stage: $p passed, $f failed, $k skipped"
  done <.ci/out/counts
  read -r total_passed total_failed total_skipped <<<"$(awk '{p += $2; f += $3; k += $4} END {print p + 0, f + 0, k + 0}' .ci/out/counts)"
  if [ -s .ci/out/ignored ]; then
    echo "skipped (ignored) tests and steps:"
    sed 's/^/  /' .ci/out/ignored
  fi
  if [ -s .ci/out/problems ]; then
    echo "missing tools (CI=true fails the run):"
    sed 's/^/  /' .ci/out/problems
  fi
  [ -s .ci/out/counts ] || echo "no test stage ran"
  [ "$static_rc" = 0 ] || echo "static checks failed (check, lint or fmt)"
  echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
  [ "$total_failed" = 0 ] && [ "$static_rc" = 0 ] && [ ! -s .ci/out/problems ] && [ -s .ci/out/counts ]
}
