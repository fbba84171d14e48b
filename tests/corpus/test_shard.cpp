// Shard format: a written shard reads back exactly; every kind of corruption is refused with an
// error that names the file and the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "corpus/sha256.h"
#include "corpus/shard.h"

namespace mbert::corpus {
namespace {

namespace fs = std::filesystem;

fs::path TempDir() {
  fs::path d =
      fs::temp_directory_path() / ("mbert_shard_" + std::to_string(::getpid()) + "_" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::vector<std::vector<uint32_t>> RandomDocs(int n, uint32_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<uint32_t>> docs(n);
  for (auto& d : docs) {
    d.resize(rng() % 50);  // includes empty documents
    for (auto& id : d) id = rng() % vocab;
  }
  return docs;
}

std::vector<uint8_t> ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void WriteBytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

TEST(Shard, RoundTrip) {
  const fs::path dir = TempDir();
  const auto docs = RandomDocs(37, 1000, 1);
  ShardBuilder b(1000);
  uint64_t tokens = 0;
  for (const auto& d : docs) {
    b.Add(d);
    tokens += d.size();
  }
  auto s = b.Write((dir / "a.mbshard").string());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->documents, 37u);
  EXPECT_EQ(s->tokens, tokens);
  EXPECT_EQ(b.documents(), 0u) << "Write clears the builder";
  EXPECT_FALSE(fs::exists(dir / "a.mbshard.tmp"));
  const auto bytes = ReadBytes(dir / "a.mbshard");
  EXPECT_EQ(bytes.size(), 80 + 8 * 38 + 4 * tokens);
  EXPECT_EQ(std::memcmp(bytes.data(), "MBSHARD", 8), 0);

  auto r = ShardReader::Open((dir / "a.mbshard").string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->documents(), 37u);
  EXPECT_EQ(r->tokens(), tokens);
  EXPECT_EQ(r->vocab_size(), 1000u);
  EXPECT_EQ(r->sha256(), s->sha256);
  for (size_t d = 0; d < docs.size(); ++d) {
    auto span = r->Document(d);
    EXPECT_EQ(std::vector<uint32_t>(span.begin(), span.end()), docs[d]) << "document " << d;
  }
  // The header digest is SHA-256 of bytes [0,48) + [80,end): recompute it independently.
  Sha256 h;
  h.Update(bytes.data(), 48);
  h.Update(bytes.data() + 80, bytes.size() - 80);
  EXPECT_EQ(h.HexDigest(), s->sha256);
  // Moving keeps the mapping valid.
  ShardReader moved = std::move(r.value());
  EXPECT_EQ(moved.Document(3).size(), docs[3].size());
}

TEST(Shard, EmptyShardIsValid) {
  const fs::path dir = TempDir();
  ShardBuilder b(10);
  auto s = b.Write((dir / "e.mbshard").string());
  ASSERT_TRUE(s.ok());
  auto r = ShardReader::Open((dir / "e.mbshard").string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->documents(), 0u);
  EXPECT_EQ(r->tokens(), 0u);
}

class CorruptShard : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    ShardBuilder b(500);
    for (const auto& d : RandomDocs(10, 500, 7)) b.Add(d);
    b.Add(std::vector<uint32_t>{1, 2, 3});
    ASSERT_TRUE(b.Write(Path()).ok());
    good_ = ReadBytes(Path());
  }
  std::string Path() const { return (dir_ / "c.mbshard").string(); }
  // Writes `bytes` and returns the error of opening it ("" if it opened).
  std::string ErrorOf(const std::vector<uint8_t>& bytes, bool verify = true) {
    WriteBytes(Path(), bytes);
    auto r = ShardReader::Open(Path(), verify);
    return r.ok() ? "" : r.status().message();
  }
  fs::path dir_;
  std::vector<uint8_t> good_;
};

TEST_F(CorruptShard, Truncated) {
  for (size_t keep : {size_t{0}, size_t{10}, size_t{79}, good_.size() - 1, good_.size() - 4}) {
    auto b = good_;
    b.resize(keep);
    const std::string e = ErrorOf(b);
    EXPECT_NE(e.find(Path()), std::string::npos) << e;
    EXPECT_NE(e.find("truncated"), std::string::npos) << "keep " << keep << ": " << e;
  }
  auto longer = good_;
  longer.push_back(0);
  EXPECT_NE(ErrorOf(longer).find("bytes"), std::string::npos);
}

TEST_F(CorruptShard, WrongMagicAndVersion) {
  auto b = good_;
  b[0] = 'X';
  EXPECT_NE(ErrorOf(b).find("wrong magic"), std::string::npos);
  b = good_;
  b[8] = 2;
  EXPECT_NE(ErrorOf(b).find("version 2"), std::string::npos);
  b = good_;
  b[12] = 96;
  EXPECT_NE(ErrorOf(b).find("header size"), std::string::npos);
}

TEST_F(CorruptShard, ChecksumMismatch) {
  auto b = good_;
  b.back() ^= 1;  // a token id changes
  const std::string e = ErrorOf(b);
  EXPECT_NE(e.find("checksum mismatch"), std::string::npos) << e;
  // Without content verification the same file opens (the trainer may skip the scan).
  EXPECT_EQ(ErrorOf(b, /*verify=*/false), "");
  // The vocabulary size is part of the digest, too.
  b = good_;
  b[32] ^= 1;
  EXPECT_NE(ErrorOf(b).find("checksum mismatch"), std::string::npos);
}

TEST_F(CorruptShard, OffsetsOutOfRange) {
  auto b = good_;
  const uint64_t huge = uint64_t{1} << 40;
  std::memcpy(b.data() + 80 + 8 * 3, &huge, 8);
  std::string e = ErrorOf(b, /*verify=*/false);
  EXPECT_NE(e.find("offset 3 is out of range"), std::string::npos) << e;
  // Decreasing offsets.
  b = good_;
  uint64_t o2;
  std::memcpy(&o2, b.data() + 80 + 16, 8);
  const uint64_t bigger = o2 + 1000;
  std::memcpy(b.data() + 80 + 8, &bigger, 8);
  e = ErrorOf(b, false);
  EXPECT_NE(e.find("out of range"), std::string::npos) << e;
  // The last offset must equal the token count.
  b = good_;
  const uint64_t zero = 0;
  std::memcpy(b.data() + 80 + 8 * 11, &zero, 8);
  e = ErrorOf(b, false);
  EXPECT_NE(e.find("must start at 0 and end at"), std::string::npos) << e;
  // A header count that disagrees with the size.
  b = good_;
  b[16] += 1;
  e = ErrorOf(b, false);
  EXPECT_NE(e.find("need"), std::string::npos) << e;
  b = good_;
  b[23] = 0x7f;  // documents ~ 2^62
  e = ErrorOf(b, false);
  EXPECT_NE(e.find("beyond limits"), std::string::npos) << e;
}

TEST_F(CorruptShard, IdOutOfVocabulary) {
  // A shard written with a smaller vocabulary than its ids, checksum intact.
  const std::vector<uint64_t> offsets = {0, 2};
  const std::vector<uint32_t> ids = {3, 9};
  const std::string e = ErrorOf(EncodeShard(offsets, ids, 5));
  EXPECT_NE(e.find("id 9, not below the vocabulary size 5"), std::string::npos) << e;
}

TEST_F(CorruptShard, NotAFile) {
  auto r = ShardReader::Open(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos);
  auto m = ShardReader::Open((dir_ / "missing.mbshard").string());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("missing.mbshard"), std::string::npos);
}

}  // namespace
}  // namespace mbert::corpus
