# cmake -DREADME=README.md -DOUT=dir -DNAMES=a,b,c -P readme_examples.cmake
#
# Writes each example of the README to OUT/NAME.cc: the code block that follows a line
# `<!-- example: NAME -->`. The output the README shows for it, the block that follows
# `<!-- output: NAME -->` (compared exactly) or `<!-- output: NAME, any order -->` (compared as
# sorted lines), goes to OUT/NAME.out or OUT/NAME.out-any-order, for run_example.cmake. A file
# whose text did not change is left alone, so only an edited example is compiled again. NAMES are
# the examples CMake was configured with: another set means it must run again (any build does).
cmake_minimum_required(VERSION 3.25)

file(READ "${README}" text)

# The text of the fenced block that starts right after `marker` (only blank space between).
function(block_after marker out)
  string(FIND "${text}" "${marker}" at)
  string(LENGTH "${marker}" length)
  math(EXPR at "${at} + ${length}")
  string(SUBSTRING "${text}" ${at} -1 tail)
  string(FIND "${tail}" "```" open)
  string(SUBSTRING "${tail}" 0 ${open} between)
  if(open LESS 0 OR NOT between MATCHES "^[ \t\r\n]*$")
    message(FATAL_ERROR "${README}: ${marker} is not followed by a code block")
  endif()
  string(SUBSTRING "${tail}" ${open} -1 tail)
  string(FIND "${tail}" "\n" eol)  # past the fence line (```cpp)
  math(EXPR eol "${eol} + 1")
  string(SUBSTRING "${tail}" ${eol} -1 tail)
  string(FIND "${tail}" "\n```" close)
  if(close LESS 0)
    message(FATAL_ERROR "${README}: the code block after ${marker} never ends")
  endif()
  math(EXPR close "${close} + 1")  # keep the last line's newline
  string(SUBSTRING "${tail}" 0 ${close} block)
  set(${out} "${block}" PARENT_SCOPE)
endfunction()

# Writes `content` to `path` only when it differs from what is there.
function(write_if_changed path content)
  if(EXISTS "${path}")
    file(READ "${path}" old)
    if(old STREQUAL content)
      return()
    endif()
  endif()
  file(WRITE "${path}" "${content}")
endfunction()

file(MAKE_DIRECTORY "${OUT}")
string(REGEX MATCHALL "\n<!-- example: [a-z0-9_]+ -->\n" markers "${text}")
set(names)
foreach(marker ${markers})
  string(REGEX REPLACE "^\n<!-- example: ([a-z0-9_]+) -->\n$" "\\1" name "${marker}")
  if(name IN_LIST names)
    message(FATAL_ERROR "${README}: two examples are named ${name}")
  endif()
  list(APPEND names ${name})
  block_after("${marker}" code)
  write_if_changed("${OUT}/${name}.cc" "// Generated from README.md (example ${name}): edit it there.\n${code}")

  set(exact "\n<!-- output: ${name} -->\n")
  set(any_order "\n<!-- output: ${name}, any order -->\n")
  string(FIND "${text}" "${exact}" has_exact)
  string(FIND "${text}" "${any_order}" has_any_order)
  file(REMOVE "${OUT}/${name}.out" "${OUT}/${name}.out-any-order")
  if(has_exact GREATER_EQUAL 0)
    block_after("${exact}" shown)
    file(WRITE "${OUT}/${name}.out" "${shown}")
  elseif(has_any_order GREATER_EQUAL 0)
    block_after("${any_order}" shown)
    file(WRITE "${OUT}/${name}.out-any-order" "${shown}")
  endif()
endforeach()

string(REPLACE "," ";" configured "${NAMES}")
if(NOT names STREQUAL configured)
  message(FATAL_ERROR "README.md's examples are now (${names}), the build has (${configured}): "
                      "run cmake again")
endif()
