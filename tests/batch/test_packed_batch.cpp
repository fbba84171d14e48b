#include <gtest/gtest.h>

#include "batch/packed_batch.h"

namespace mbert {
namespace {

TEST(PackedBatch, FromSequencesRestartsPositions) {
  PackedBatch b = PackedBatch::FromSequences({{5, 6, 7}, {8}, {9, 10}});
  EXPECT_EQ(b.input_ids, (std::vector<int32_t>{5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(b.cu_seqlens, (std::vector<int32_t>{0, 3, 4, 6}));
  EXPECT_EQ(b.positions, (std::vector<int32_t>{0, 1, 2, 0, 0, 1}));
  EXPECT_EQ(b.max_seqlen, 3);
  EXPECT_TRUE(b.labels.empty());
  EXPECT_EQ(b.num_tokens(), 6);
  EXPECT_EQ(b.num_seqs(), 3);
  EXPECT_EQ(b.seq_len(2), 2);
  EXPECT_TRUE(b.Validate().ok());
}

TEST(PackedBatch, EmptyInput) {
  PackedBatch b = PackedBatch::FromSequences({});
  EXPECT_EQ(b.num_seqs(), 0);
  EXPECT_EQ(b.num_tokens(), 0);
  EXPECT_EQ(b.cu_seqlens, (std::vector<int32_t>{0}));
  EXPECT_TRUE(b.Validate().ok());
}

TEST(PackedBatch, ValidateCatchesBrokenInvariants) {
  PackedBatch b = PackedBatch::FromSequences({{1, 2}, {3, 4, 5}});
  ASSERT_TRUE(b.Validate().ok());
  PackedBatch bad = PackedBatch::FromSequences({{1, 2}, {3, 4, 5}});
  bad.positions[2] = 2;  // should restart at 0
  EXPECT_FALSE(bad.Validate().ok());
  bad = PackedBatch::FromSequences({{1, 2}, {3, 4, 5}});
  bad.cu_seqlens.back() = 4;
  EXPECT_FALSE(bad.Validate().ok());
  bad = PackedBatch::FromSequences({{1, 2}, {3, 4, 5}});
  bad.max_seqlen = 2;
  EXPECT_FALSE(bad.Validate().ok());
  bad = PackedBatch::FromSequences({{1, 2}, {3, 4, 5}});
  bad.labels = {1, 2};
  Status st = bad.Validate();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("labels"), std::string::npos) << st.message();
}

TEST(PackedBatch, ConcatKeepsSequencesAndLabels) {
  PackedBatch a, b;
  std::vector<int32_t> la{-100, 4}, lb{7, -100, -100};
  a.AppendSequence({3, 4}, &la);
  b.AppendSequence({7, 8, 9}, &lb);
  PackedBatch c = PackedBatch::Concat({a, b});
  EXPECT_EQ(c.input_ids, (std::vector<int32_t>{3, 4, 7, 8, 9}));
  EXPECT_EQ(c.cu_seqlens, (std::vector<int32_t>{0, 2, 5}));
  EXPECT_EQ(c.positions, (std::vector<int32_t>{0, 1, 0, 1, 2}));
  EXPECT_EQ(c.labels, (std::vector<int32_t>{-100, 4, 7, -100, -100}));
  EXPECT_EQ(c.max_seqlen, 3);
  EXPECT_EQ(c.num_labeled(), 2);
  EXPECT_EQ(c.num_non_pad(8), 4);
  EXPECT_TRUE(c.Validate().ok());
}

}  // namespace
}  // namespace mbert
