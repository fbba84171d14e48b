# `mbert plot` fuzz target (included by fuzz/CMakeLists.txt):
#   fuzz_metrics_log  ParseMetricsLog on arbitrary bytes, then the figure and the PNG encoder for
#                     what it accepts (seeds: fuzz/seeds-plot)
# Run:
#   mkdir -p fuzz/corpus-plot && cp fuzz/seeds-plot/* fuzz/corpus-plot/
#   ./build-fuzz/fuzz/fuzz_metrics_log fuzz/corpus-plot -max_total_time=600
find_package(ZLIB REQUIRED)
file(GLOB MBERT_FUZZ_PLOT_SOURCES ${CMAKE_SOURCE_DIR}/src/plot/*.cpp)
add_executable(fuzz_metrics_log ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_metrics_log.cpp
               ${MBERT_FUZZ_PLOT_SOURCES} ${CMAKE_SOURCE_DIR}/src/core/file_io.cpp)
target_compile_options(fuzz_metrics_log PRIVATE ${FUZZ_FLAGS})
target_link_options(fuzz_metrics_log PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_metrics_log PRIVATE nlohmann_json::nlohmann_json ZLIB::ZLIB)
