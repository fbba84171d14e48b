# Server request-parser fuzz target (included by fuzz/CMakeLists.txt):
#   fuzz_serve_requests  ParseBody, the optional fields and every input form on arbitrary bodies
# Run (seeds in fuzz/seeds-serve, working corpus in the git-ignored fuzz/corpus-serve):
#   mkdir -p fuzz/corpus-serve && cp fuzz/seeds-serve/* fuzz/corpus-serve/
#   ./build-fuzz/fuzz/fuzz_serve_requests fuzz/corpus-serve -max_total_time=600 -max_len=4096
add_executable(fuzz_serve_requests ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_serve_requests.cpp
               ${CMAKE_SOURCE_DIR}/src/serve/json_requests.cpp
               ${CMAKE_SOURCE_DIR}/src/serve/base64.cpp)
target_compile_options(fuzz_serve_requests PRIVATE ${FUZZ_FLAGS})
target_link_options(fuzz_serve_requests PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_serve_requests PRIVATE nlohmann_json::nlohmann_json)
