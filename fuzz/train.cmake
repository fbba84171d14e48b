# Training-config fuzz target (included by fuzz/CMakeLists.txt):
#   fuzz_train_config  TrainConfig::FromJson on arbitrary JSON (seeds: fuzz/seeds-train-config)
# Run:
#   mkdir -p fuzz/corpus-train-config && cp fuzz/seeds-train-config/* fuzz/corpus-train-config/
#   ./build-fuzz/fuzz/fuzz_train_config fuzz/corpus-train-config -dict=fuzz/train_config.dict \
#     -max_total_time=600
add_executable(fuzz_train_config ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_train_config.cpp
               ${CMAKE_SOURCE_DIR}/src/train/train_config.cpp
               ${CMAKE_SOURCE_DIR}/src/train/schedule.cpp
               ${CMAKE_SOURCE_DIR}/src/core/json_fields.cpp
               ${CMAKE_SOURCE_DIR}/src/core/file_io.cpp
               ${CMAKE_SOURCE_DIR}/src/core/thread_limit.cpp)
target_compile_options(fuzz_train_config PRIVATE ${FUZZ_FLAGS})
target_link_options(fuzz_train_config PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_train_config PRIVATE nlohmann_json::nlohmann_json)
