# Tokenizer fuzz targets (included by fuzz/CMakeLists.txt):
#   fuzz_tokenizer_encode  Encode/EncodePair/Decode of arbitrary bytes with the real tokenizer.json
#   fuzz_tokenizer_json    Tokenizer::FromJsonString on arbitrary bytes, then encodes with the result
# Run (seeds in fuzz/seeds-tokenizer, working corpora in the git-ignored fuzz/corpus-*):
#   mkdir -p fuzz/corpus-tokenizer-encode fuzz/corpus-tokenizer-json
#   cp fuzz/seeds-tokenizer/encode* fuzz/corpus-tokenizer-encode/
#   cp fuzz/seeds-tokenizer/mini_tokenizer.json fuzz/corpus-tokenizer-json/
#   ./build-fuzz/fuzz/fuzz_tokenizer_encode fuzz/corpus-tokenizer-encode -max_total_time=300 -max_len=2048
#   ./build-fuzz/fuzz/fuzz_tokenizer_json fuzz/corpus-tokenizer-json -max_total_time=300 -max_len=4096
file(GLOB MBERT_FUZZ_TOK_SOURCES ${CMAKE_SOURCE_DIR}/src/tokenizer/*.cpp)
foreach(t fuzz_tokenizer_encode fuzz_tokenizer_json)
  add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/${t}.cpp ${MBERT_FUZZ_TOK_SOURCES}
                 ${CMAKE_SOURCE_DIR}/src/core/file_io.cpp)
  target_compile_options(${t} PRIVATE ${FUZZ_FLAGS})
  target_link_options(${t} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${t} PRIVATE nlohmann_json::nlohmann_json PkgConfig::UTF8PROC OpenMP::OpenMP_CXX Threads::Threads)
  target_compile_definitions(${t} PRIVATE
    MBERT_FUZZ_TOKENIZER_JSON="${MBERT_SHARED_DIR}/data/modernbert-base/tokenizer.json")
endforeach()
