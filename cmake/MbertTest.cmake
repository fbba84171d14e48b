# mbert_add_test(NAME name SOURCES a.cpp ... LIBS lib ... LABELS unit;parity ...)
# One gtest binary per call; ctest runs it from the build dir with MBERT_SHARED_DIR and
# MBERT_TESTDATA_DIR in the environment so tests find ../shared/data and tests/data.
function(mbert_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 900)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "MBERT_SHARED_DIR=${MBERT_SHARED_DIR};MBERT_TESTDATA_DIR=${CMAKE_SOURCE_DIR}/tests/data;MBERT_SOURCE_DIR=${CMAKE_SOURCE_DIR};MBERT_BUILD_DIR=${CMAKE_BINARY_DIR}")
endfunction()
