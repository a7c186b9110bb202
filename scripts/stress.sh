#!/usr/bin/env bash
# The long robustness checks behind `make stress` (not part of `make test`, which runs a
# short version of each): kill -9 and resume (ledger exact, no secret left on disk, no step
# left running under its rerun), a slow console reading the end of a big output, many runs
# racing for one lock, a long parser fuzz run, output floods, and a soak of consecutive runs
# watching for growth.
#
#   scripts/stress.sh BUILD_DIR        (make stress builds build/default first)
#
# Knobs: KILL_ITERATIONS (200; the secrets-on-disk loop runs a tenth as many rounds of up to
# 20 kills each), LEFTOVER_ITERATIONS (20), SLOW_READER_RUNS (10), CONCURRENT_RUNS (50),
# FUZZ_SECONDS (1800), SOAK_RUNS (2000), FLOOD_GIB (2). Prints one line per check and a
# summary; exits 1 when any check failed.
set -uo pipefail

build_dir=${1:?usage: $0 BUILD_DIR}
build_dir=$(cd "$build_dir" && pwd)
stagecraft=$build_dir/stagecraft
e2e=$build_dir/tests/e2e_test
repo=$(cd "$(dirname "$0")/.." && pwd)
[[ -x $stagecraft && -x $e2e ]] || { echo "stress: build first (make stress does)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/stagecraft-stress-XXXXXX")
trap 'rm -rf "$work"' EXIT
results=()
failed=0
record() {  # NAME STATUS DETAIL
  results+=("$(printf '%-28s %-6s %s' "$1" "$2" "$3")")
  [[ $2 == ok ]] || failed=1
  printf '%-28s %-6s %s\n' "$1" "$2" "$3"
}

# 1. kill -9 at random moments, then resume; the ledger must hold every entry once.
start=$SECONDS
if (cd "$repo/tests" && STAGECRAFT_KILL_ITERATIONS=${KILL_ITERATIONS:-200} "$e2e" \
      --gtest_filter='Journal.KillNine*' >"$work/kill.log" 2>&1); then
  record "kill -9 / resume" ok "${KILL_ITERATIONS:-200} rounds, $((SECONDS - start))s"
else
  record "kill -9 / resume" FAIL "see the log: $(grep -m1 -E 'Failure|round' "$work/kill.log")"
fi

# 1b. kill -9 at random moments of a runbook that builds values from a secret: after every
# kill, neither $TMPDIR nor the state directory may hold the secret in clear, and resume
# must restore every value intact.
start=$SECONDS
secret_rounds=$(( (${KILL_ITERATIONS:-200} + 9) / 10 ))
if (cd "$repo/tests" && STAGECRAFT_KILL_ITERATIONS=$secret_rounds "$e2e" \
      --gtest_filter='Secrets.KillNine*' >"$work/kill-secrets.log" 2>&1); then
  record "kill -9 / secrets on disk" ok "$secret_rounds rounds, $((SECONDS - start))s"
else
  record "kill -9 / secrets on disk" FAIL \
    "see the log: $(grep -m1 -E 'Failure|round' "$work/kill-secrets.log")"
fi

# 1c. kill -9 at random moments, resume --kill-leftovers: no attempt of a step may run
# while one from the killed session still does, and nothing is left running at the end.
start=$SECONDS
if (cd "$repo/tests" && STAGECRAFT_KILL_ITERATIONS=${LEFTOVER_ITERATIONS:-20} "$e2e" \
      --gtest_filter='Reliability.KillNine*' >"$work/leftovers.log" 2>&1); then
  record "kill -9 / leftovers" ok "${LEFTOVER_ITERATIONS:-20} rounds, $((SECONDS - start))s"
else
  record "kill -9 / leftovers" FAIL "see the log: $(grep -m1 -A2 Failure "$work/leftovers.log" | tr '\n' ' ')"
fi

# 1d. A red flag printed after 300,000 lines must fail the step even when stagecraft's
# stdout is read at ~800 KB/s, every time.
start=$SECONDS
if (cd "$repo/tests" && "$e2e" --gtest_filter='Reliability.RedFlagPrintedLast*' \
      --gtest_repeat="${SLOW_READER_RUNS:-10}" >"$work/slow.log" 2>&1); then
  record "slow reader / red flag" ok "${SLOW_READER_RUNS:-10} runs, $((SECONDS - start))s"
else
  record "slow reader / red flag" FAIL "$(grep -m1 -A3 Failure "$work/slow.log" | tr '\n' ' ')"
fi

# 2. Many runs racing for one lock: exactly one runs.
start=$SECONDS
if (cd "$repo/tests" && STAGECRAFT_CONCURRENT_RUNS=${CONCURRENT_RUNS:-50} "$e2e" \
      --gtest_filter='Journal.Concurrent*' >"$work/lock.log" 2>&1); then
  record "concurrent runs" ok "${CONCURRENT_RUNS:-50} at once, one ran, $((SECONDS - start))s"
else
  record "concurrent runs" FAIL "$(grep -m1 -A3 Failure "$work/lock.log" | tr '\n' ' ')"
fi

# 3. Output flood: a step printing FLOOD_GIB GiB, with --quiet; peak RSS must stay small.
gib=${FLOOD_GIB:-2}
printf '# Flood\n## Flood\n```bash\nhead -c %dG /dev/zero | tr "\\\\0" "y" | fold -w 100\n```\n' \
  "$gib" >"$work/flood.md"
start=$SECONDS
if /usr/bin/time -f '%M' -o "$work/flood.rss" "$stagecraft" run "$work/flood.md" --quiet \
     --state "$work/flood-state" >/dev/null 2>"$work/flood.err"; then
  rss_kib=$(tail -1 "$work/flood.rss")
  if ((rss_kib < 64 * 1024)); then
    record "output flood" ok "${gib} GiB in $((SECONDS - start))s, peak RSS $((rss_kib / 1024)) MiB"
  else
    record "output flood" FAIL "peak RSS $((rss_kib / 1024)) MiB (limit 64 MiB)"
  fi
else
  record "output flood" FAIL "$(tail -3 "$work/flood.err" | tr '\n' ' ')"
fi

# 4. Soak: consecutive runs of one small runbook; journal size per run and RSS must not
# grow with the number of runs.
runs=${SOAK_RUNS:-2000}
cat >"$work/soak.md" <<'BOOK'
# Soak
## Write
```bash {capture=STAMP}
date +%s%N
```
## Check
```bash
test -n "$STAMP" && echo "stamp $STAMP"
```
BOOK
first_rss=0
last_rss=0
soak_ok=1
start=$SECONDS
for ((i = 1; i <= runs; i++)); do
  if ! /usr/bin/time -f '%M' -o "$work/soak.rss" "$stagecraft" run "$work/soak.md" --quiet \
       --state "$work/soak-state" >/dev/null 2>"$work/soak.err"; then
    record "soak" FAIL "run $i failed: $(tail -2 "$work/soak.err" | tr '\n' ' ')"
    soak_ok=0
    break
  fi
  rss=$(tail -1 "$work/soak.rss")
  ((i == 1)) && first_rss=$rss
  last_rss=$rss
  if ((i == runs / 10)); then
    early_bytes=$(du -sb "$work/soak-state" | cut -f1)
  fi
done
if ((soak_ok)); then
  bytes=$(du -sb "$work/soak-state" | cut -f1)
  per_run=$((bytes / runs))
  early_per_run=$((early_bytes / (runs / 10)))
  detail="$runs runs in $((SECONDS - start))s; journal $((bytes / 1024)) KiB (${per_run} B/run, ${early_per_run} B/run after $((runs / 10))); RSS ${first_rss}->${last_rss} KiB"
  # Growth means more per run late than early (beyond page-granularity noise), or RSS
  # that climbs with the journal.
  if ((per_run > 2 * early_per_run + 4096 || last_rss > first_rss + 16 * 1024)); then
    record "soak" FAIL "$detail"
  else
    record "soak" ok "$detail"
  fi
fi

# 5. The parser under libFuzzer for FUZZ_SECONDS.
start=$SECONDS
if (cd "$repo" && make --no-print-directory fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-1800}" \
      >"$work/fuzz.log" 2>&1); then
  record "parser fuzz" ok "$(grep -m1 -oE 'Done [0-9]+ runs in [0-9]+ second' "$work/fuzz.log" || echo "$((SECONDS - start))s")"
else
  record "parser fuzz" FAIL "crash or leak: see build/fuzz/crashes/ ($(grep -m1 -E 'ERROR|deadly' "$work/fuzz.log"))"
fi

echo
echo "stress summary"
printf '%s\n' "${results[@]}"
exit "$failed"
