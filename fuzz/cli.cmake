# CLI input-parser fuzz target (included by fuzz/CMakeLists.txt):
#   fuzz_cli_inputs  ParseInputLine and InputReader (tools/mbert/inputs.cpp) on arbitrary bytes,
#                    first byte = format (text, jsonl, ids)
# Run (seeds in fuzz/seeds-cli, working corpus in the git-ignored fuzz/corpus-cli):
#   mkdir -p fuzz/corpus-cli && cp fuzz/seeds-cli/* fuzz/corpus-cli/
#   ./build-fuzz/fuzz/fuzz_cli_inputs fuzz/corpus-cli -max_total_time=600 -max_len=4096
add_executable(fuzz_cli_inputs ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_cli_inputs.cpp
               ${CMAKE_SOURCE_DIR}/tools/mbert/inputs.cpp)
target_include_directories(fuzz_cli_inputs PRIVATE ${CMAKE_SOURCE_DIR}/tools/mbert)
target_compile_options(fuzz_cli_inputs PRIVATE ${FUZZ_FLAGS})
target_link_options(fuzz_cli_inputs PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_cli_inputs PRIVATE nlohmann_json::nlohmann_json)
