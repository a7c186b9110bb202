# Thin wrappers over the CMake presets; see CMakePresets.json.
.PHONY: setup build test test-default test-sanitize demo bench stress fuzz seeds format clean

setup:
	@scripts/setup.sh

build: setup
	@cmake --preset default >/dev/null
	@cmake --build --preset default

# Everything CI runs: the default suite, then the same suites under the sanitizers.
test: test-default test-sanitize

test-default: build
	@ctest --preset default

# The unit and end-to-end suites again under ASan+UBSan, then under TSan.
test-sanitize: setup
	@for preset in asan tsan; do \
	  cmake --preset $$preset >/dev/null && cmake --build --preset $$preset && \
	  ctest --preset $$preset || exit 1; \
	done

demo: build
	@scripts/setup.sh --demo
	@scripts/demo.sh build/default/stagecraft

bench:
	@scripts/setup.sh --bench
	@cmake --preset release >/dev/null
	@cmake --build --preset release
	@bench/run.sh build/release

# Long robustness checks (kill -9 loop, lock races, floods, soak, fuzz); see scripts/stress.sh.
stress: build
	@scripts/setup.sh --bench
	@scripts/stress.sh build/default

# Real deployment guides run end to end against the test doubles (not part of `test`):
# SEEDS=DIR names the guides' directory, ../shared/seeds by default; see scripts/seeds.sh.
seeds: build
	@scripts/setup.sh --seeds
	@scripts/seeds.sh $(SEEDS)

fuzz:
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz --target fuzz_parser
	@mkdir -p build/fuzz/corpus build/fuzz/crashes
	@build/fuzz/fuzz_parser -max_total_time=$${FUZZ_SECONDS:-600} -rss_limit_mb=2048 -timeout=10 \
	  -dict=fuzz/runbook.dict -artifact_prefix=build/fuzz/crashes/ $${FUZZ_ARGS:-} \
	  build/fuzz/corpus fuzz/corpus

format:
	@git ls-files --cached --others --exclude-standard '*.cc' '*.h' | xargs clang-format -i

clean:
	@rm -rf build
