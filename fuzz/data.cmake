# Data-reader fuzz target (included by fuzz/CMakeLists.txt):
#   fuzz_data_readers  the readers of src/data (TSV/CSV tables, JSONL, the GLUE layouts, BEIR
#                      corpus/queries/qrels, CoNLL) on arbitrary bytes; the first byte picks the
#                      reader (seeds: fuzz/seeds-data)
# Run:
#   mkdir -p fuzz/corpus-data && cp fuzz/seeds-data/* fuzz/corpus-data/
#   ./build-fuzz/fuzz/fuzz_data_readers fuzz/corpus-data -max_total_time=600
file(GLOB FUZZ_DATA_SOURCES ${CMAKE_SOURCE_DIR}/src/data/*.cpp)
add_executable(fuzz_data_readers ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_data_readers.cpp
               ${FUZZ_DATA_SOURCES})
target_compile_options(fuzz_data_readers PRIVATE ${FUZZ_FLAGS})
target_link_options(fuzz_data_readers PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_data_readers PRIVATE nlohmann_json::nlohmann_json)
