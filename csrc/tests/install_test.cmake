# ctest install_and_consume: `cmake --install` this build into a scratch
# prefix, build tests/consumer against it with find_package(dirnet), run it
# on a fixture model. -DBUILD_DIR=... -DSOURCE_DIR=... -DMODEL=...
# [-DTOOLCHAIN=<toolchain file> -DEMULATOR=<command|args>] for cross builds.
string(REPLACE "|" ";" emu "${EMULATOR}")
set(cross)
if(TOOLCHAIN)
  set(cross -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN})
endif()
set(work "${BUILD_DIR}/install_test")
file(REMOVE_RECURSE "${work}")
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${out}\n${err}")
  endif()
  set(last_out "${out}" PARENT_SCOPE)
endfunction()
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${work}/prefix")
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/consumer" -B "${work}/build" -DCMAKE_PREFIX_PATH=${work}/prefix
    -DCMAKE_BUILD_TYPE=Release ${cross})
run(${CMAKE_COMMAND} --build "${work}/build")
run(${emu} "${work}/build/consumer" "${MODEL}")
message(STATUS "${last_out}")
if(NOT last_out MATCHES "^ok ")
  message(FATAL_ERROR "consumer printed: ${last_out}")
endif()
