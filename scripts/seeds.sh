#!/usr/bin/env bash
# Runs real deployment guides end to end against the test doubles: for each guide in the
# seeds directory, builds the scratch project it expects (tests/fixtures/seeds/projects.sh),
# applies the few edits listed in tests/fixtures/seeds/edits.txt, then runs
# `stagecraft lint` and `stagecraft run --yes` in a sandbox where the guide's absolute paths
# (/opt, /var, /home, /backups, /tmp) are private to the run and the aws, terraform, psql,
# systemctl, curl... doubles of tests/doubles/ stand in for the cloud and the host.
#
#   scripts/seeds.sh [SEEDS_DIR]     (default: ../shared/seeds next to the repository)
#
# Prints, per guide, the run's exit status, its steps passed and failed, the edited lines
# against the guide's lines, and lint's count of findings; then the totals. Exits 1 when a
# run fails or the edits exceed 0.3 % of all lines, 2 when the seeds directory, the binary
# or a tool is missing.
# Needs unshare(1) (util-linux): root, or unprivileged user namespaces.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
seeds=${1:-$repo/../shared/seeds}
binary=${STAGECRAFT:-$repo/build/default/stagecraft}
fixtures=$repo/tests/fixtures/seeds
scratch=${SEEDS_SCRATCH:-$repo/build/seeds}
limit_permille=3  # 0.3 %

if [[ ! -d "$seeds" ]]; then
  echo "seeds.sh: no seeds directory at $seeds (pass its path as the first argument)" >&2
  exit 2
fi
seeds=$(cd "$seeds" && pwd)
if [[ ! -x "$binary" ]]; then
  echo "seeds.sh: $binary is missing: build it first (make build)" >&2
  exit 2
fi
for tool in unshare jq zip git npm python3; do
  command -v "$tool" >/dev/null || { echo "seeds.sh: $tool is needed (scripts/setup.sh --seeds)" >&2; exit 2; }
done
# shellcheck source=../tests/fixtures/seeds/projects.sh
source "$fixtures/projects.sh"

# The edits of one guide applied to a copy of it; prints how many lines changed.
apply_edits() {  # GUIDE_NAME SOURCE TARGET
  awk -v name="$1" -v edits="$fixtures/edits.txt" '
    BEGIN {
      while ((getline line < edits) > 0) {
        if (line ~ /^#/ || line ~ /^[ \t]*$/) continue
        split(line, head, ":")
        if (head[1] != name) continue
        rest = substr(line, length(head[1]) + length(head[2]) + 3)
        sub(/^ /, "", rest)
        n = head[2] + 0
        if (rest ~ /^append /) { append[n] = substr(rest, 8) }
        else if (rest ~ /^replace /) {
          split(substr(rest, 9), pair, " => "); old[n] = pair[1]; new[n] = pair[2]
        } else { print "seeds.sh: cannot read edit: " line > "/dev/stderr"; exit 2 }
        changed[n] = 1
      }
    }
    {
      if (FNR in append) $0 = $0 append[FNR]
      if (FNR in old) {
        at = index($0, old[FNR])
        if (at == 0) { print "seeds.sh: " name ":" FNR ": no \"" old[FNR] "\" on the line" > "/dev/stderr"; exit 2 }
        $0 = substr($0, 1, at - 1) new[FNR] substr($0, at + length(old[FNR]))
      }
      print > target
    }
    END { count = 0; for (n in changed) count++; print count }
  ' target="$3" "$2"
}

# Runs a command in a mount namespace whose / holds the host's directories, except those
# the guide's sandbox root provides (opt, var, home, backups, tmp), which replace them.
sandboxed() {  # WORK CWD COMMAND...
  local ns=(unshare --mount --fork)
  [[ $(id -u) -eq 0 ]] || ns=(unshare --user --map-root-user --mount --fork)
  "${ns[@]}" bash -s "$@" <<'SANDBOX'
set -euo pipefail
work=$1 cwd=$2
shift 2
new=$work/mnt
mkdir -p "$new"
mount -t tmpfs -o mode=755 seeds-root "$new"
for entry in /*; do
  name=${entry#/}
  [[ -e "$work/root/$name" ]] && continue
  if [[ -L $entry ]]; then
    cp -P "$entry" "$new/$name"
  elif [[ -d $entry ]]; then
    mkdir "$new/$name"
    mount --rbind "$entry" "$new/$name"
  fi
done
for private in "$work/root"/*; do
  mkdir "$new/${private##*/}"
  mount --bind "$private" "$new/${private##*/}"
done
exec chroot "$new" /usr/bin/env -C "$cwd" "$@"
SANDBOX
}

mkdir -p "$scratch"
failed=0 total_lines=0 total_edited=0
printf '%-28s %5s %7s %7s %9s %9s %6s  %s\n' guide exit passed failed "edited" lines "%" lint
for seed in "$seeds"/*.txt; do
  name=$(basename "$seed" .txt)
  work=$scratch/$name
  rm -rf "$work"
  mkdir -p "$work/root" "$work/cloud" "$work/home"
  root=$work/root cloud=$work/cloud
  if ! declare -F "setup_$name" >/dev/null; then
    echo "seeds.sh: no scratch project for $name in $fixtures/projects.sh" >&2
    failed=1
    continue
  fi
  GUIDE_DIR= VARS=()
  "setup_$name"
  mkdir -p "$root$GUIDE_DIR"
  edited=$(apply_edits "$name" "$seed" "$root$GUIDE_DIR/guide.md")
  lines=$(wc -l <"$seed")
  total_lines=$((total_lines + lines))
  total_edited=$((total_edited + edited))

  env=(PATH="$repo/tests/doubles/host:$repo/tests/doubles:$PATH" STAGECRAFT_DOUBLE_STATE="$cloud"
    PYTHONPATH="$repo/tests/doubles/host" HOME="$work/home" TZ=UTC
    npm_config_offline=true npm_config_audit=false npm_config_fund=false
    npm_config_update_notifier=false npm_config_cache="$work/home/.npm")
  # lint reads the guide as written (the edits keep every line where it was), away from the
  # project, as a reader who has only the guide would: a `cd` into the author's checkout is
  # then reported.
  mkdir -p "$work/lint"
  cp "$seed" "$work/lint/$name.md"
  (cd "$work/lint" && "$binary" lint "$name.md" >"$work/lint.txt" 2>&1) || true
  var_args=()
  for value in "${VARS[@]}"; do var_args+=(--var "$value"); done
  status=0
  sandboxed "$work" "$GUIDE_DIR" "${env[@]}" "$binary" run guide.md --yes --no-color \
    --state "$work/state" "${var_args[@]}" >"$work/run.txt" 2>&1 || status=$?
  report=$(find "$work/state" -name report.json 2>/dev/null | head -1 || true)
  passed=? failing=?
  if [[ -n "$report" ]]; then
    passed=$(jq '.counts.steps.passed' "$report")
    failing=$(jq '.counts.steps.failed' "$report")
  fi
  [[ $status -eq 0 ]] || failed=1
  findings=$(tail -n 1 "$work/lint.txt" | sed -n 's/^[^:]*: //p')
  printf '%-28s %5s %7s %7s %9s %9s %6s  %s\n' "$name" "$status" "$passed" "$failing" "$edited" "$lines" \
    "$(awk -v e="$edited" -v l="$lines" 'BEGIN { printf "%.2f", 100 * e / l }')" "$findings"
done
printf '%-28s %5s %7s %7s %9s %9s %6s\n' total "" "" "" "$total_edited" "$total_lines" \
  "$(awk -v e="$total_edited" -v l="$total_lines" 'BEGIN { printf "%.2f", 100 * e / l }')"
echo "logs: $scratch/<guide>/{lint,run}.txt"
if ((total_edited * 1000 > total_lines * limit_permille)); then
  echo "seeds.sh: $total_edited edited lines exceed 0.3 % of $total_lines" >&2
  failed=1
fi
exit $failed
