# Runs fuzz_parser for a bounded time on the seed corpus; used by the fuzz_parser_smoke test.
#   cmake -DFUZZER=... -DSOURCE_DIR=<repo>/fuzz -DWORK_DIR=<build dir> -DSECONDS=20 -P smoke_test.cmake
# New inputs go to WORK_DIR/corpus, emptied first so one run's result does not depend on the
# last; fuzz/corpus is passed second, and libFuzzer only ever writes to its first corpus dir.
foreach(var FUZZER SOURCE_DIR WORK_DIR SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "smoke_test.cmake: -D${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/corpus ${WORK_DIR}/artifacts)

execute_process(
  COMMAND
    ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
    -dict=${SOURCE_DIR}/runbook.dict -artifact_prefix=${WORK_DIR}/artifacts/ ${WORK_DIR}/corpus
    ${SOURCE_DIR}/corpus
  WORKING_DIRECTORY ${WORK_DIR}
  RESULT_VARIABLE result)

if(NOT result EQUAL 0)
  file(GLOB artifacts ${WORK_DIR}/artifacts/*)
  list(JOIN artifacts "\n  " listing)
  message(FATAL_ERROR "fuzz_parser failed (${result}); reproducer(s):\n  ${listing}\n"
                      "replay with: ${FUZZER} <file>   (see fuzz/README.md)")
endif()
