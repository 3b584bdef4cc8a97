# ctest dirnet_run_<fixture>: run dirnet-run on FIXTURE.input.npy on every
# kernel path it accepts and demand the bytes of FIXTURE.expected.npy.
# -DRUN=<dirnet-run> -DFIXTURE=<path without extension> -DOUT=<scratch .npy>
# [-DEMULATOR=<command|args> (cross builds: qemu-aarch64|-L|<sysroot>)]
string(REPLACE "|" ";" emu "${EMULATOR}")
foreach(path "" reference)
  set(args "${FIXTURE}.dbnn" --input "${FIXTURE}.input.npy" --output "${OUT}" --repeat 1 --quiet)
  if(path)
    list(APPEND args --kernel ${path})
  endif()
  execute_process(COMMAND ${emu} "${RUN}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dirnet-run ${args} exited ${rc}: ${out}${err}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files "${OUT}" "${FIXTURE}.expected.npy" RESULT_VARIABLE diff)
  if(NOT diff EQUAL 0)
    message(FATAL_ERROR "dirnet-run (kernel '${path}') output differs from ${FIXTURE}.expected.npy")
  endif()
endforeach()
