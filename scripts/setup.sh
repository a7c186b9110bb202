#!/usr/bin/env bash
# Installs the Debian packages stagecraft needs to build, test and benchmark.
# Idempotent and silent when everything is present; works as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format libclang-rt-14-dev
  libcmark-gfm-dev libcmark-gfm-extensions-dev
  libyaml-cpp-dev libpcre2-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libsqlite3-dev sqlite3
  # Notifications: webhooks are posted with libcurl (OpenSSL for TLS).
  libcurl4-openssl-dev
  libgtest-dev libgmock-dev
  # The end-to-end tests run examples/local-staging (make test), so its tools are needed
  # by default, not only for the demo.
  postgresql curl python3
  # Report tests: xmllint checks the JUnit XML against its XSD, headless chromium renders
  # the HTML report (both tests skip when the tool is missing).
  libxml2-utils chromium
)
case "${1:-}" in
  --bench) packages+=(hyperfine ansible time cmark-gfm) ;;
  --seeds) packages+=(jq zip util-linux) ;;  # scripts/seeds.sh (which also needs npm)
  --demo) ;;  # kept for `make demo`; the demo's packages are in the default list
  "") ;;
  *) echo "usage: $0 [--bench|--demo|--seeds]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "setup: missing packages (${missing[*]}) and neither root nor sudo is available" >&2
  exit 2
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh image has no package lists; refresh them once before installing.
"${sudo[@]}" apt-get update -qq </dev/null >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
