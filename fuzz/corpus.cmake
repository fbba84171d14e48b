# Corpus reader fuzz target (included by fuzz/CMakeLists.txt):
#   fuzz_corpus  ParseShard (first byte even) or Manifest/Mixture/SamplerState::FromJson (odd)
#                on arbitrary bytes (seeds: fuzz/seeds-corpus, a small valid shard and manifest)
# Run:
#   mkdir -p fuzz/corpus-corpus && cp fuzz/seeds-corpus/* fuzz/corpus-corpus/
#   ./build-fuzz/fuzz/fuzz_corpus fuzz/corpus-corpus -max_total_time=600
add_executable(fuzz_corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_corpus.cpp
               ${CMAKE_SOURCE_DIR}/src/corpus/shard.cpp
               ${CMAKE_SOURCE_DIR}/src/corpus/sha256.cpp
               ${CMAKE_SOURCE_DIR}/src/corpus/manifest.cpp
               ${CMAKE_SOURCE_DIR}/src/corpus/mixture.cpp
               ${CMAKE_SOURCE_DIR}/src/corpus/sampler.cpp
               ${CMAKE_SOURCE_DIR}/src/corpus/dedup.cpp
               ${CMAKE_SOURCE_DIR}/src/core/json_fields.cpp
               ${CMAKE_SOURCE_DIR}/src/core/file_io.cpp)
target_compile_options(fuzz_corpus PRIVATE ${FUZZ_FLAGS})
target_link_options(fuzz_corpus PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(fuzz_corpus PRIVATE nlohmann_json::nlohmann_json OpenSSL::Crypto)
