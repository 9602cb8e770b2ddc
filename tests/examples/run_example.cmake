# cmake -DPROGRAM=path [-DEXPECTED=OUT/NAME] [-DINPUT=line] -P run_example.cmake
#
# Runs an example program as a user would, `INPUT` (a line) piped to its stdin, else /dev/null,
# and passes when it exits 0 and, when the README shows its output (OUT/NAME.out, or
# OUT/NAME.out-any-order for lines in any order: see readme_examples.cmake), prints exactly
# that. What it wrote to stderr is shown, never judged.
cmake_minimum_required(VERSION 3.25)

if(DEFINED INPUT)
  execute_process(COMMAND ${CMAKE_COMMAND} -E echo "${INPUT}" COMMAND ${PROGRAM}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
else()
  execute_process(COMMAND ${PROGRAM} INPUT_FILE /dev/null
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
endif()
message("${PROGRAM} printed:\n${out}")
if(NOT err STREQUAL "")
  message("and on stderr:\n${err}")
endif()
if(NOT status STREQUAL "0")
  message(FATAL_ERROR "${PROGRAM} ended with ${status}, not 0")
endif()

# The lines of `text`, sorted (output lines hold no `;` here, so a CMake list can carry them).
function(sorted_lines text out)
  string(REGEX REPLACE "\n$" "" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  list(SORT lines)
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()

if(DEFINED EXPECTED AND EXISTS "${EXPECTED}.out")
  file(READ "${EXPECTED}.out" shown)
  if(NOT out STREQUAL shown)
    message(FATAL_ERROR "the README shows a different output:\n${shown}")
  endif()
elseif(DEFINED EXPECTED AND EXISTS "${EXPECTED}.out-any-order")
  file(READ "${EXPECTED}.out-any-order" shown)
  sorted_lines("${out}" got)
  sorted_lines("${shown}" want)
  if(NOT got STREQUAL want)
    message(FATAL_ERROR "the README shows other lines (in any order):\n${shown}")
  endif()
endif()
