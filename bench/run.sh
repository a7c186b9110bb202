#!/usr/bin/env bash
# stagecraft benchmarks; `make bench` runs them on the release build. See bench/README.md.
#
#   bench/run.sh BUILD_DIR [SECTION...]     sections: plan run report history (the default),
#                                           baseline (needs BENCH_BASELINE=OTHER_BINARY)
#
# Each section generates its input, then times commands with hyperfine and samples their
# peak RSS with GNU time; the table of all results is printed at the end.
#
# Exit status: 0 when every benchmark ran, also when a target was missed (printed as
# MISSED): targets are goals tracked in bench/README.md, and timing on a shared machine is
# too noisy to gate a build on. Non-zero (2) only when the harness itself fails: a missing
# tool or binary, or a benchmarked command that fails or produces the wrong result.
# Sections are called by name ("bench_$section"), which shellcheck cannot follow.
# shellcheck disable=SC2317
set -euo pipefail

die() {
  echo "bench: $*" >&2
  exit 2
}

[[ $# -ge 1 ]] || die "usage: $0 BUILD_DIR [SECTION...]"
# Absolute, because sections may run from a scratch directory.
build_dir=$(cd "$1" && pwd) || die "no build directory '$1'"
shift
stagecraft=$build_dir/stagecraft
[[ -x $stagecraft ]] || die "$stagecraft not found; build it first (make bench does)"
command -v hyperfine >/dev/null || die "hyperfine not found; run scripts/setup.sh --bench"
command -v cmark-gfm >/dev/null || die "cmark-gfm not found; run scripts/setup.sh --bench"
# The shell keyword `time` cannot report memory; GNU time (Debian package `time`) can.
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found; run scripts/setup.sh --bench"

bench_dir=$(cd "$(dirname "$0")" && pwd)
# hyperfine's JSON exports are kept next to the build so runs can be compared later.
results_dir=$build_dir/bench
mkdir -p "$results_dir"
work=$(mktemp -d "${TMPDIR:-/tmp}/stagecraft-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

WARMUP=2
RUNS=10
RSS_RUNS=5

rows=()  # name|median|min-max|cpu|peak RSS|target|met

# measure NAME TARGET_MS TARGET_MIB COMMAND...
# Records median and range of wall time over $RUNS runs, and the largest peak RSS seen
# over $RSS_RUNS runs. A target is met when the median is under TARGET_MS and the peak
# RSS under TARGET_MIB.
measure() {
  local name=$1 target_ms=$2 target_mib=$3
  shift 3
  # Run once outside hyperfine first: a failing command would otherwise be timed as a
  # fast one.
  if ! "$@" >"$work/$name.out" 2>"$work/$name.err"; then
    cat "$work/$name.err" >&2
    die "$name: command failed: $*"
  fi

  local command
  command=$(printf '%q ' "$@")
  # PREPARE (a command without shell syntax) runs before every timed run, untimed.
  local prepare=()
  if [[ -n ${PREPARE:-} ]]; then prepare=(--prepare "$PREPARE"); fi
  # -N runs the command without a shell in between, so only stagecraft is timed;
  # --output=pipe makes it write its whole output, as it would into a pager or a file.
  hyperfine --warmup "$WARMUP" --runs "$RUNS" -N --output=pipe --style=basic "${prepare[@]}" \
    --command-name "$name" --export-json "$results_dir/$name.json" \
    --export-csv "$work/$name.csv" "$command" >&2 || die "$name: hyperfine failed"

  local peak_kib=0 kib i
  for ((i = 0; i < RSS_RUNS; i++)); do
    if [[ -n ${PREPARE:-} ]]; then $PREPARE; fi
    /usr/bin/time -f %M -o "$work/$name.rss" "$@" >/dev/null 2>&1 || die "$name: failed under time"
    kib=$(tail -n 1 "$work/$name.rss")
    if ((kib > peak_kib)); then peak_kib=$kib; fi
  done

  # CSV columns: command,mean,stddev,median,user,system,min,max (seconds). Counted from the
  # end because the command column may itself contain commas.
  rows+=("$(awk -F, -v name="$name" -v kib="$peak_kib" -v tms="$target_ms" -v tmib="$target_mib" '
    NR == 2 {
      median = $(NF - 4) * 1000; lo = $(NF - 1) * 1000; hi = $NF * 1000; mib = kib / 1024
      cpu = ($(NF - 3) + $(NF - 2)) * 1000
      met = (median < tms && mib < tmib) ? "yes" : "MISSED"
      printf "%s|%.1f ms|%.1f-%.1f ms|%.1f ms|%.1f MiB|< %d ms, < %d MiB|%s\n",
             name, median, lo, hi, cpu, mib, tms, tmib, met
    }' "$work/$name.csv")")
}

# --- sections: each is a function bench_NAME; add new ones here and to `sections` ---------

# `plan` on a generated 10,000-step runbook (issue target: under 100 ms and 100 MiB).
bench_plan() {
  local runbook=$work/rollout-10000.md
  awk -v steps=10000 -f "$bench_dir/gen_runbook.awk" >"$runbook"
  echo "plan: generated $(wc -l <"$runbook") lines, $(($(wc -c <"$runbook") / 1024)) KiB" >&2
  # Guard against benchmarking an error path: a runbook that stopped parsing would plan
  # (or fail) much faster than a real one.
  "$stagecraft" plan "$runbook" >"$work/plan.txt" 2>&1 ||
    {
      head -20 "$work/plan.txt" >&2
      die "plan: the generated runbook does not plan cleanly"
    }
  grep -q '^Totals *10000 steps' "$work/plan.txt" || die "plan: expected 10000 steps in the plan"
  if grep -q '^Lint ' "$work/plan.txt"; then
    grep '^Lint ' "$work/plan.txt" >&2
    die "plan: the generated runbook has lint warnings; fix bench/gen_runbook.awk"
  fi

  measure "plan 10k steps" 100 100 "$stagecraft" plan "$runbook"
  measure "plan --json 10k steps" 100 100 "$stagecraft" plan --json "$runbook"
  # The parsing floor: cmark-gfm, the library the parser is built on, rendering the same
  # file to HTML. CPU time, since both run on one core.
  paired "plan 10k steps / cmark-gfm to HTML, cpu" 15 cpu "<= 3" 1 1 \
    -- "$stagecraft" plan "$runbook" -- cmark-gfm -e table -e tasklist "$runbook"
}

# `report` of a journaled 10,000-step run with 100 MiB of output, in every format (issue
# target: under 2 s). The journal is written by report_bench_journal (bench/gen_journal.cc).
bench_report() {
  local generator=$build_dir/report_bench_journal state=$work/report-state
  [[ -x $generator ]] || die "$generator not found; build it first (make bench does)"
  local run_id
  run_id=$("$generator" "$state" 10000 100) || die "report: report_bench_journal failed"
  echo "report: journal of run $run_id, $(($(stat -c %s "$state/journal.db") / 1048576)) MiB" >&2
  # Guard against timing an error path: the report must hold every step.
  "$stagecraft" report latest --state "$state" --format json >"$work/report.json" ||
    die "report: stagecraft report failed"
  grep -q '"total": 10000' "$work/report.json" || die "report: expected 10000 steps in the report"

  local format
  for format in md html json junit; do
    measure "report $format 10k steps" 2000 512 \
      "$stagecraft" report latest --state "$state" --format "$format"
  done
}

# `runs` and `show` over a journal with 10,000 finished runs (issue target for `runs`:
# under 100 ms). The journal is written by report_bench_journal --runs.
bench_history() {
  local generator=$build_dir/report_bench_journal state=$work/history-state
  [[ -x $generator ]] || die "$generator not found; build it first (make bench does)"
  "$generator" "$state" --runs 10000 >/dev/null || die "history: report_bench_journal failed"
  [[ $("$stagecraft" runs --state "$state" --limit 0 | wc -l) -eq 10001 ]] ||
    die "history: expected 10000 runs listed"
  measure "runs (10k in journal)" 100 64 "$stagecraft" runs --state "$state"
  measure "runs --json (10k)" 100 64 "$stagecraft" runs --json --state "$state"
  measure "runs --limit 0 (all 10k)" 500 128 "$stagecraft" runs --limit 0 --state "$state"
  measure "show (10k in journal)" 100 64 "$stagecraft" show bench-005000 --state "$state"
}


ratios=()  # what|median|range|target|met, printed after the main table

# time_once CSV PREPARE COMMAND...: one run of COMMAND (after PREPARE, untimed, when not
# empty) under hyperfine; prints "wall cpu" in seconds, cpu being user + system time of the
# command and everything it waited for.
time_once() {
  local csv=$1 prepare=$2
  shift 2
  local prepare_args=()
  if [[ -n $prepare ]]; then prepare_args=(--prepare "$prepare"); fi
  hyperfine -N --runs 1 --warmup 0 --output=pipe --style=none "${prepare_args[@]}" \
    --export-csv "$csv" "$(printf '%q ' "$@")" >/dev/null 2>&1 || die "failed: $*"
  # CSV columns: command,mean,stddev,median,user,system,min,max (counted from the end).
  awk -F, 'NR == 2 { printf "%s %s\n", $(NF - 4), $(NF - 3) + $(NF - 2) }' "$csv"
}

# paired NAME PAIRS METRIC TARGET A_UNITS B_UNITS -- A_COMMAND... -- B_COMMAND...
# Compares A with B as paired ratios: A and B run alternately in one loop (B first in every
# other pair), and each pair gives the ratio (A / A_UNITS) / (B / B_UNITS) of their wall
# times (METRIC=wall) or CPU times (METRIC=cpu); the row reports the median and range of the
# ratios. Timing the two sides minutes apart lets the machine's load decide the ratio.
# TARGET is "<= X", ">= X" or "-". A_PREPARE / B_PREPARE: a command run untimed before
# each run of that side.
paired() {
  local name=$1 pairs=$2 metric=$3 target=$4 a_units=$5 b_units=$6
  shift 6
  [[ $1 == -- ]] || die "paired: expected -- before the first command"
  shift
  local a=() b=()
  while [[ $# -gt 0 && $1 != -- ]]; do a+=("$1"); shift; done
  [[ $# -gt 0 ]] || die "paired: expected -- before the second command"
  shift
  b=("$@")
  local column=1
  [[ $metric == cpu ]] && column=2
  local i ta tb file=$work/paired-$RANDOM.txt
  : >"$file"
  for ((i = 0; i < pairs; i++)); do
    if ((i % 2 == 0)); then
      ta=$(time_once "$work/a.csv" "${A_PREPARE:-}" "${a[@]}")
      tb=$(time_once "$work/b.csv" "${B_PREPARE:-}" "${b[@]}")
    else
      tb=$(time_once "$work/b.csv" "${B_PREPARE:-}" "${b[@]}")
      ta=$(time_once "$work/a.csv" "${A_PREPARE:-}" "${a[@]}")
    fi
    echo "$ta $tb" >>"$file"
  done
  ratios+=("$(awk -v name="$name" -v col="$column" -v au="$a_units" -v bu="$b_units" \
    -v target="$target" '
    { n++; a = $(col) / au; b = $(col + 2) / bu; r[n] = a / b; as[n] = a; bs[n] = b }
    function median(x, k,   i, j, t) {
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
      return (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
    }
    END {
      m = median(r, n); lo = r[1]; hi = r[n]
      split(target, t, " "); met = "yes"
      if (t[1] == "<=" && m > t[2]) met = "MISSED"
      if (t[1] == ">=" && m < t[2]) met = "MISSED"
      printf "%s (%d pairs; medians %.2f vs %.2f ms)|%.2f|%.2f-%.2f|%s|%s\n",
             name, n, median(as, n) * 1000, median(bs, n) * 1000, m, lo, hi, target, met
    }' "$file")")
}

# `run` overhead per step against plain bash and ansible, and output throughput (issue
# targets: stagecraft/bash per step <= 1.5 as paired ratios; at least 50x faster per step
# than ansible; a step printing 1 GiB streams through with the engine under 64 MiB).
bench_run() {
  local steps=200 tasks=50 pairs=15
  # Runs write their state (.stagecraft/) into the working directory: keep it in $work.
  cd "$work"
  {
    echo "# Run overhead: $steps steps of true"
    for ((i = 1; i <= steps; i++)); do
      printf '\n## Step %d\n\n```bash\ntrue\n```\n' "$i"
    done
  } >run-$steps.md
  {
    echo '#!/bin/bash'
    for ((i = 1; i <= steps; i++)); do echo 'bash -c true'; done
  } >run-$steps.sh
  {
    echo '- hosts: localhost'
    echo '  gather_facts: false'
    echo '  tasks:'
    for ((i = 1; i <= tasks; i++)); do
      printf '    - name: step %d\n      shell: "true"\n' "$i"
    done
  } >playbook-$tasks.yml
  {
    echo '# Output throughput'
    printf '\n## Print 1 GiB\n\n```bash\n'
    echo 'set +o pipefail  # yes dies of SIGPIPE once head has had 1 GiB'
    echo 'yes "$(printf "%099d" 0)" | head -c 1G'
    printf '```\n'
  } >run-1gib.md
  "$stagecraft" run --quiet run-$steps.md >run.out 2>&1 || {
    tail -20 run.out >&2
    die "run: the generated runbook does not run cleanly"
  }
  grep -q "succeeded" run.out || die "run: expected the run to succeed"

  # Every stagecraft run starts from an empty journal, as a deployment's first run does.
  A_PREPARE="rm -rf $work/.stagecraft" \
    paired "run $steps steps / bash -c true x$steps, wall" "$pairs" wall "<= 1.5" 1 1 \
    -- "$stagecraft" run --quiet run-$steps.md -- bash run-$steps.sh
  A_PREPARE="rm -rf $work/.stagecraft" \
    paired "run $steps steps / bash -c true x$steps, cpu" "$pairs" cpu "-" 1 1 \
    -- "$stagecraft" run --quiet run-$steps.md -- bash run-$steps.sh
  A_PREPARE="rm -rf $work/.stagecraft" \
    paired "run $steps steps, console / bash, wall" "$pairs" wall "<= 1.5" 1 1 \
    -- "$stagecraft" run run-$steps.md -- bash run-$steps.sh
  if command -v ansible-playbook >/dev/null; then
    # Ansible takes seconds per run: five pairs.
    ANSIBLE_NOCOLOR=1 B_PREPARE="rm -rf $work/.stagecraft" \
      paired "ansible per task / run per step, wall" 5 wall ">= 50" "$tasks" "$steps" \
      -- ansible-playbook -i localhost, -c local playbook-$tasks.yml \
      -- "$stagecraft" run --quiet run-$steps.md
  else
    echo "run: ansible-playbook not found (scripts/setup.sh --bench); no ansible comparison" >&2
  fi
  # Each 1 GiB run starts from an empty journal: otherwise every run would write into a
  # database already holding the gibibytes of all the runs before it.
  PREPARE="rm -rf $work/.stagecraft" \
    measure "run 1 GiB output --quiet" 999999 64 "$stagecraft" run --quiet run-1gib.md
  # The same through the masking of three declared secrets (each line is scanned for all of
  # their encodings) and, as every run, the journal.
  {
    printf -- '---\nsecrets:\n'
    printf '  BENCH_SECRET_%d: { env: BENCH_SECRET_%d }\n' 1 1 2 2 3 3
    printf -- '---\n'
    tail -n +2 run-1gib.md
  } >run-1gib-secrets.md
  BENCH_SECRET_1=alpha-0d5e81c2 BENCH_SECRET_2=bravo-77c1f9e4 BENCH_SECRET_3=charlie-3a9b24d0 \
    PREPARE="rm -rf $work/.stagecraft" measure "run 1 GiB, 3 secrets" 999999 64 "$stagecraft" run --quiet run-1gib-secrets.md

  local gib_ms secrets_ms
  gib_ms=$(median_ms "run 1 GiB output --quiet")
  ratios+=("$(awk -v g="$gib_ms" 'BEGIN {
    printf "1 GiB output throughput|%.0f MiB/s|-|-|yes", 1024 / (g / 1000) }')")
  secrets_ms=$(median_ms "run 1 GiB, 3 secrets")
  ratios+=("$(awk -v g="$secrets_ms" 'BEGIN {
    mb = 1073.741824 / (g / 1000)
    printf "1 GiB journaled, 3 secrets masked|%.0f MB/s|-|>= 200 MB/s|%s", mb, (mb >= 200 ? "yes" : "MISSED") }')")
  cd - >/dev/null
}

# median_ms NAME: the median wall time of a measured benchmark, from its CSV.
median_ms() {
  awk -F, 'NR == 2 { printf "%.1f", $(NF - 4) * 1000 }' "$work/$1.csv"
}

# This build against another stagecraft binary, BENCH_BASELINE (the code without a
# performance mechanism, say), as paired ratios: the rule for keeping a mechanism.
bench_baseline() {
  local baseline=${BENCH_BASELINE:-} steps=200
  [[ -x $baseline ]] || die "baseline: set BENCH_BASELINE to the stagecraft binary to compare with"
  cd "$work"
  {
    echo "# Run overhead: $steps steps of true"
    for ((i = 1; i <= steps; i++)); do printf '\n## Step %d\n\n```bash\ntrue\n```\n' "$i"; done
  } >baseline-$steps.md
  A_PREPARE="rm -rf $work/.stagecraft" B_PREPARE="rm -rf $work/.stagecraft" \
    paired "run $steps steps, this build / baseline, cpu" 15 cpu "-" 1 1 \
    -- "$stagecraft" run --quiet baseline-$steps.md -- "$baseline" run --quiet baseline-$steps.md
  cd - >/dev/null
}

all_sections=(plan run report history baseline)
default_sections=(plan run report history)

sections=("$@")
[[ ${#sections[@]} -gt 0 ]] || sections=("${default_sections[@]}")
for section in "${sections[@]}"; do
  declare -F "bench_$section" >/dev/null || die "unknown section '$section' (known: ${all_sections[*]})"
done

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "stagecraft benchmarks: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs (${cpu:-unknown}), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "binary: $stagecraft ($("$stagecraft" --version 2>/dev/null || echo 'version unknown'))" >&2

for section in "${sections[@]}"; do
  echo "== $section" >&2
  "bench_$section"
done

missed=0
echo
# cpu is user+system time (mean): less sensitive than wall time to other load on the machine.
format='%-24s %11s %19s %11s %12s %22s  %s\n'
# shellcheck disable=SC2059
printf "$format" benchmark median min-max cpu "peak RSS" target met?
for row in "${rows[@]}"; do
  IFS='|' read -r name median range cpu rss target met <<<"$row"
  # shellcheck disable=SC2059
  printf "$format" "$name" "$median" "$range" "$cpu" "$rss" "$target" "$met"
  [[ $met == yes ]] || missed=$((missed + 1))
done
if ((${#ratios[@]} > 0)); then
  echo
  ratio_format='%-84s %10s %11s %12s  %s\n'
  # shellcheck disable=SC2059
  printf "$ratio_format" comparison median range target met?
  for row in "${ratios[@]}"; do
    IFS='|' read -r what value range target met <<<"$row"
    # shellcheck disable=SC2059
    printf "$ratio_format" "$what" "$value" "$range" "$target" "$met"
    [[ $met == yes ]] || missed=$((missed + 1))
  done
fi
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); JSON exports in $results_dir/"
if ((missed > 0)); then
  echo "MISSED: $missed of ${#rows[@]} benchmarks missed their target (see bench/README.md)"
fi
exit 0
