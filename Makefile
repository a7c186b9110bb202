# Thin wrappers over the CMake presets; see CMakePresets.json.
.PHONY: setup build test demo bench fuzz format clean

setup:
	@scripts/setup.sh

build: setup
	@cmake --preset default >/dev/null
	@cmake --build --preset default

test: build
	@ctest --preset default

demo: build
	@scripts/setup.sh --demo
	@scripts/demo.sh build/default/stagecraft

bench:
	@scripts/setup.sh --bench
	@cmake --preset release >/dev/null
	@cmake --build --preset release
	@bench/run.sh build/release

fuzz:
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz
	@build/fuzz/fuzz_parser -max_total_time=$${FUZZ_SECONDS:-600} fuzz/corpus

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	@rm -rf build
