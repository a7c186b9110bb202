#!/usr/bin/env bash
# `make demo`: deploys examples/local-staging with stagecraft (a throwaway PostgreSQL
# cluster and a small HTTP service on 127.0.0.1), shows where the evidence of the run is,
# explains how to watch the rollback, and tears the environment down again.
#
# Usage: scripts/demo.sh STAGECRAFT_BINARY
# Environment: STAGING_DB_PASSWORD (generated when unset), STAGING_DIR (default
# /tmp/stagecraft-staging-<user>), DEMO_KEEP=1 to leave the environment running.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 STAGECRAFT_BINARY" >&2
  exit 2
fi
stagecraft=$(realpath "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
example="$repo/examples/local-staging"
staging_dir=${STAGING_DIR:-/tmp/stagecraft-staging-$(id -un)}
export STAGING_DIR=$staging_dir

# stagecraft keeps its run state at the top of the git work tree holding the runbook, unless
# STAGECRAFT_STATE says otherwise; build/demo keeps it out of the source tree but still there
# after the demo, for a look at the report.
work="$repo/build/demo"
mkdir -p "$work"
cd "$work"
export STAGECRAFT_STATE="$work/.stagecraft"

if [[ -z "${STAGING_DB_PASSWORD:-}" ]]; then
  STAGING_DB_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  export STAGING_DB_PASSWORD
fi

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
  say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
  say() { printf '\n==> %s\n' "$*"; }
fi
started=$SECONDS

if [[ -e "$staging_dir" ]]; then
  say "Removing the environment an earlier demo left in $staging_dir"
  "$stagecraft" run --quiet "$example/teardown.md"
fi

say "Starting a notification receiver on 127.0.0.1 (deploy.md's notify: target)"
hooks="$work/notifications.log"
: > "$hooks"
rm -f "$work/receiver.port"
python3 "$repo/scripts/demo_receiver.py" "$work/receiver.port" "$hooks" &
receiver=$!
trap 'kill "$receiver" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -s "$work/receiver.port" ]] && break; sleep 0.1; done
DEMO_HOOK_PORT=$(cat "$work/receiver.port")
export DEMO_HOOK_PORT
echo "listening on 127.0.0.1:$DEMO_HOOK_PORT"

say "Deploying Shelf 2.0.0 to local staging: stagecraft run examples/local-staging/deploy.md --yes"
log="$work/deploy.log"
set +e
"$stagecraft" run "$example/deploy.md" --yes 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

if [[ $status -eq 4 ]]; then
  run_id=$(sed -n 's/^ *run \([0-9]\{8\}-[0-9]\{6\}-[0-9a-f]\{6\}\)$/\1/p' "$log" | head -n 1)
  say "The migration waits for the db-owner (exit 4). From a second terminal:"
  echo "  stagecraft pending"
  "$stagecraft" pending
  echo "  stagecraft approve $run_id migrate-v2 --comment 'backup checked'"
  "$stagecraft" approve "$run_id" migrate-v2 --comment "backup checked"
  say "And the release goes on: stagecraft resume $run_id"
  set +e
  "$stagecraft" resume "$run_id" --yes 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
  set -e
fi

say "Notifications the receiver got"
cat "$hooks"

say "What happened"
if [[ $status -eq 0 ]]; then
  echo "The release succeeded (exit 0): every expectation, verification and success"
  echo "criterion in deploy.md was checked against real output."
else
  echo "The release FAILED (exit $status); the output above shows the step and the rollback."
fi
if [[ -f "$staging_dir/staging.env" ]]; then
  # shellcheck source=/dev/null
  . "$staging_dir/staging.env"
  echo "Shelf answers on http://127.0.0.1:$APP_PORT, PostgreSQL on 127.0.0.1:$PG_PORT:"
  curl -fsS --max-time 5 "http://127.0.0.1:$APP_PORT/stats" || true
fi
report=$(sed -n 's/^report: \([^ ]*\).*/\1/p' "$log" | tail -n 1)
if [[ -n "$report" ]]; then
  [[ $report == /* ]] || report=$work/$report
  echo "Report: $report"
  echo "(also as report.md, report.json and report.junit.xml beside it; history:"
  echo " STAGECRAFT_STATE=$work/.stagecraft $stagecraft runs)"
else
  echo "No report line in the output; the console output above is the record of the run"
  echo "(saved in $log)."
fi

say "Now break it on purpose"
cat <<EOF
Release a 2.0.0 that passes its health check and fails its smoke test, and watch the
rollback restore the database from the pre-release backup and bring 1.4.0 back:

  export STAGING_DB_PASSWORD='any password of 12+ characters'
  export STAGECRAFT_STATE=$work/.stagecraft
  cd $work
  $stagecraft run $example/deploy.md --yes --var BREAK=smoke
  $stagecraft approve RUN migrate-v2 && $stagecraft resume RUN
  $stagecraft run $example/teardown.md
EOF

if [[ "${DEMO_KEEP:-}" == 1 ]]; then
  say "Leaving the environment running (DEMO_KEEP=1); remove it with:"
  echo "  $stagecraft run $example/teardown.md"
else
  say "Tearing down: stagecraft run examples/local-staging/teardown.md"
  "$stagecraft" run "$example/teardown.md"
fi

say "Demo finished in $((SECONDS - started))s"
exit "$status"
