#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "batch/packer.h"
#include "batch/rng.h"

namespace mbert {
namespace {

constexpr int32_t kPad = 50283;

// A source over fixed sequences; sequence k is filled with the id 100 + k so tests can tell
// which sequence went where.
SequenceSource VectorSource(std::vector<std::vector<int32_t>> seqs) {
  auto data = std::make_shared<std::vector<std::vector<int32_t>>>(std::move(seqs));
  auto pos = std::make_shared<size_t>(0);
  return [data, pos](std::vector<int32_t>* out) -> Result<bool> {
    if (*pos >= data->size()) return false;
    *out = (*data)[(*pos)++];
    return true;
  };
}

std::vector<int32_t> Seq(int k, int len) {
  return std::vector<int32_t>(static_cast<size_t>(len), 100 + k);
}

// The ids of the sequences of a row, in order (0-based k; -1 for the pad pseudo-sequence).
std::vector<int> RowSeqs(const PackedBatch& row) {
  std::vector<int> ks;
  for (int s = 0; s < row.num_seqs(); ++s) {
    const int32_t id = row.input_ids[static_cast<size_t>(row.seq_begin(s))];
    ks.push_back(id == kPad ? -1 : id - 100);
  }
  return ks;
}

// Hand-traced example (rows 2 x 10 tokens, source batches of 2, buffer 5):
// lengths A6 B5 C4 D3 | E6 F1 G7 H2.
// Batch 1: A->row0 (tie, first row), B->row1, C->row0 (4 left beats 5 left), D->row1; the
// refill brings E F G H: E, G, H fit nowhere and F goes to row1; E, G, H return to the front of
// the buffer reversed (deque.extendleft): H, G, E.
// Batch 2: H->row0, G->row0 (8 left is the tightest fit), E->row1.
TEST(Packer, HandTracedBestFit) {
  std::vector<int> lens{6, 5, 4, 3, 6, 1, 7, 2};
  std::vector<std::vector<int32_t>> seqs;
  for (size_t k = 0; k < lens.size(); ++k) seqs.push_back(Seq(static_cast<int>(k), lens[k]));
  PackerOptions o;
  o.rows = 2;
  o.row_tokens = 10;
  o.source_batch_size = 2;
  o.buffer_size = 5;
  o.pad_token_id = kPad;
  auto packer = GreedyBestFitPacker::Create(VectorSource(seqs), o);
  ASSERT_TRUE(packer.ok()) << packer.status().message();

  std::vector<PackedBatch> rows;
  auto r = packer->Next(&rows);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(*r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(RowSeqs(rows[0]), (std::vector<int>{0, 2}));
  EXPECT_EQ(RowSeqs(rows[1]), (std::vector<int>{1, 3, 5, -1}));
  EXPECT_EQ(rows[1].cu_seqlens, (std::vector<int32_t>{0, 5, 8, 9, 10}));
  EXPECT_EQ(rows[1].positions, (std::vector<int32_t>{0, 1, 2, 3, 4, 0, 1, 2, 0, 0}));
  EXPECT_EQ(rows[1].max_seqlen, 5);
  EXPECT_EQ(packer->SaveBuffer(),
            (std::vector<std::vector<int32_t>>{Seq(7, 2), Seq(6, 7), Seq(4, 6)}));

  r = packer->Next(&rows);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(*r);
  EXPECT_EQ(RowSeqs(rows[0]), (std::vector<int>{7, 6, -1}));
  EXPECT_EQ(RowSeqs(rows[1]), (std::vector<int>{4, -1}));
  EXPECT_EQ(rows[1].cu_seqlens, (std::vector<int32_t>{0, 6, 10}));
  for (const auto& row : rows) {
    EXPECT_EQ(row.num_tokens(), 10);
    EXPECT_TRUE(row.Validate().ok());
  }

  r = packer->Next(&rows);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  const PackerStats& st = packer->stats();
  EXPECT_EQ(st.batches, 2);
  EXPECT_EQ(st.seqs_consumed, 8);
  EXPECT_EQ(st.seqs_emitted, 8);
  EXPECT_EQ(st.real_tokens, 34);
  EXPECT_EQ(st.slots, 40);
  EXPECT_DOUBLE_EQ(st.efficiency(), 34.0 / 40.0);
}

// Best fit, not first fit: after A3 and B8 row0 has 7 left and row1 2; C2 goes to row1.
TEST(Packer, PrefersTightestRow) {
  PackerOptions o;
  o.rows = 2;
  o.row_tokens = 10;
  o.source_batch_size = 4;
  o.buffer_size = 9;
  o.pad_token_id = kPad;
  auto packer = GreedyBestFitPacker::Create(VectorSource({Seq(0, 3), Seq(1, 8), Seq(2, 2)}), o);
  ASSERT_TRUE(packer.ok());
  std::vector<PackedBatch> rows;
  auto r = packer->Next(&rows);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(RowSeqs(rows[0]), (std::vector<int>{0, -1}));
  EXPECT_EQ(RowSeqs(rows[1]), (std::vector<int>{1, 2}));
}

TEST(Packer, DropsEmptyTruncatesLongAndNeedsEveryRow) {
  PackerOptions o;
  o.rows = 2;
  o.row_tokens = 8;
  o.max_seq_len = 5;
  o.source_batch_size = 3;
  o.buffer_size = 10;
  o.pad_token_id = kPad;
  auto packer = GreedyBestFitPacker::Create(VectorSource({{}, Seq(1, 12), Seq(2, 4), {}}), o);
  ASSERT_TRUE(packer.ok());
  std::vector<PackedBatch> rows;
  auto r = packer->Next(&rows);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(RowSeqs(rows[0]), (std::vector<int>{1, -1}));
  EXPECT_EQ(rows[0].seq_len(0), 5);  // truncated to max_seq_len
  EXPECT_EQ(RowSeqs(rows[1]), (std::vector<int>{2, -1}));
  EXPECT_EQ(packer->stats().seqs_consumed, 2);
  EXPECT_EQ(packer->stats().truncated, 1);

  // One sequence cannot fill two rows: no batch.
  auto lonely = GreedyBestFitPacker::Create(VectorSource({Seq(0, 3)}), o);
  ASSERT_TRUE(lonely.ok());
  r = lonely->Next(&rows);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  // ... but it can fill a one-row batch (batch-size warmup asks for fewer rows).
  r = lonely->Next(&rows, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(rows.size(), 1u);
}

TEST(Packer, RejectsBadOptionsAndPropagatesSourceErrors) {
  PackerOptions o;
  o.source_batch_size = 64;
  o.buffer_size = 64;  // must exceed the source batch size
  auto bad = GreedyBestFitPacker::Create(VectorSource({}), o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("buffer_size"), std::string::npos);
  o.buffer_size = 320;
  o.max_seq_len = 5000;  // longer than a row
  EXPECT_FALSE(GreedyBestFitPacker::Create(VectorSource({}), o).ok());

  o.max_seq_len = 0;
  SequenceSource failing = [](std::vector<int32_t>*) -> Result<bool> {
    return Status::Error("shard 3 is truncated");
  };
  auto p = GreedyBestFitPacker::Create(failing, o);
  ASSERT_TRUE(p.ok());
  std::vector<PackedBatch> rows;
  auto r = p->Next(&rows);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("shard 3"), std::string::npos);
}

// A long random stream: every row is a valid packed row of row_tokens tokens with the pad
// segment last, every consumed sequence is emitted exactly once or still buffered, the buffer
// never exceeds its size, and restoring the buffer continues the identical stream.
TEST(Packer, RandomStreamInvariantsAndResume) {
  Rng rng(5);
  std::vector<std::vector<int32_t>> seqs;
  for (int k = 0; k < 3000; ++k) {
    const int len = static_cast<int>(rng.UniformInt(300));  // includes empty sequences
    std::vector<int32_t> s(static_cast<size_t>(len));
    for (int i = 0; i < len; ++i) s[static_cast<size_t>(i)] = k * 1000 + i % 1000;
    seqs.push_back(s);
  }
  PackerOptions o;
  o.rows = 3;
  o.row_tokens = 512;
  o.max_seq_len = 256;
  o.source_batch_size = 16;
  o.buffer_size = 80;
  o.pad_token_id = kPad;
  auto run = [&](int stop_after, std::vector<std::vector<int32_t>>* buffer, PackerStats* stats,
                 size_t* source_pos, std::vector<std::vector<PackedBatch>>* out) {
    auto data = std::make_shared<std::vector<std::vector<int32_t>>>(seqs);
    auto pos = std::make_shared<size_t>(*source_pos);
    SequenceSource src = [data, pos](std::vector<int32_t>* s) -> Result<bool> {
      if (*pos >= data->size()) return false;
      *s = (*data)[(*pos)++];
      return true;
    };
    auto p = GreedyBestFitPacker::Create(src, o);
    ASSERT_TRUE(p.ok());
    if (!buffer->empty()) p->RestoreBuffer(*buffer, *stats);
    std::vector<PackedBatch> rows;
    for (int b = 0; stop_after < 0 || b < stop_after; ++b) {
      auto r = p->Next(&rows);
      ASSERT_TRUE(r.ok());
      if (!*r) break;
      ASSERT_LE(p->SaveBuffer().size(), static_cast<size_t>(o.buffer_size));
      out->push_back(rows);
    }
    *buffer = p->SaveBuffer();
    *stats = p->stats();
    *source_pos = *pos;
  };

  std::vector<std::vector<int32_t>> buffer;
  PackerStats stats;
  size_t pos = 0;
  std::vector<std::vector<PackedBatch>> full;
  run(-1, &buffer, &stats, &pos, &full);
  ASSERT_GT(full.size(), 100u);

  std::map<int, int> emitted_len;  // sequence k -> emitted length
  for (const auto& batch : full) {
    for (const auto& row : batch) {
      ASSERT_TRUE(row.Validate().ok());
      ASSERT_EQ(row.num_tokens(), o.row_tokens);
      for (int s = 0; s < row.num_seqs(); ++s) {
        const int32_t first = row.input_ids[static_cast<size_t>(row.seq_begin(s))];
        if (first == kPad) {
          EXPECT_EQ(s, row.num_seqs() - 1) << "pad segment must be last";
          for (int i = 0; i < row.seq_len(s); ++i)
            EXPECT_EQ(row.input_ids[static_cast<size_t>(row.seq_begin(s) + i)], kPad);
          continue;
        }
        const int k = first / 1000;
        EXPECT_EQ(emitted_len.count(k), 0u) << "sequence " << k << " emitted twice";
        emitted_len[k] = row.seq_len(s);
        for (int i = 0; i < row.seq_len(s); ++i)
          ASSERT_EQ(row.input_ids[static_cast<size_t>(row.seq_begin(s) + i)], k * 1000 + i);
      }
    }
  }
  int64_t nonempty = 0;
  for (size_t k = 0; k < seqs.size(); ++k) nonempty += !seqs[k].empty();
  EXPECT_EQ(static_cast<int64_t>(emitted_len.size() + buffer.size()), nonempty);
  for (const auto& [k, len] : emitted_len)
    EXPECT_EQ(len, std::min<int>(256, static_cast<int>(seqs[static_cast<size_t>(k)].size())));
  std::printf("random stream: %zu batches, packing efficiency %.4f\n", full.size(),
              stats.efficiency());
  EXPECT_GT(stats.efficiency(), 0.95);

  // Resume: run 40 batches, save, restart a new packer from the saved buffer and source position.
  std::vector<std::vector<int32_t>> buf2;
  PackerStats st2;
  size_t pos2 = 0;
  std::vector<std::vector<PackedBatch>> part;
  run(40, &buf2, &st2, &pos2, &part);
  run(-1, &buf2, &st2, &pos2, &part);
  ASSERT_EQ(part.size(), full.size());
  for (size_t b = 0; b < full.size(); ++b)
    for (size_t r = 0; r < full[b].size(); ++r) {
      EXPECT_EQ(part[b][r].input_ids, full[b][r].input_ids);
      EXPECT_EQ(part[b][r].cu_seqlens, full[b][r].cu_seqlens);
    }
  EXPECT_EQ(st2.real_tokens, stats.real_tokens);
}

// Packing efficiency on real document lengths: the paragraphs of Moby Dick, with the token count
// approximated by 1.3 x the whitespace word count (the tokenizer is not a dependency of batch/),
// into 4 rows of 8 x 512 tokens as the original's micro-batch layout.
TEST(Packer, EfficiencyOnRealDocumentLengths) {
  const char* shared = std::getenv("MBERT_SHARED_DIR");
  const std::string path =
      std::string(shared ? shared : "../shared") + "/data/corpora/moby-dick.txt";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "missing " << path;
  std::vector<int> lens;
  std::string line;
  int words = 0;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string w;
    int n = 0;
    while (ls >> w) ++n;
    if (n == 0 && words > 0) {
      lens.push_back(static_cast<int>(words * 1.3) + 2);  // + [CLS] [SEP]
      words = 0;
    }
    words += n;
  }
  ASSERT_GT(lens.size(), 1000u);
  size_t k = 0;
  SequenceSource src = [&](std::vector<int32_t>* s) -> Result<bool> {
    if (k >= lens.size()) return false;
    s->assign(static_cast<size_t>(lens[k++]), 7);
    return true;
  };
  PackerOptions o;
  o.rows = 4;
  o.row_tokens = 8 * 512;
  o.max_seq_len = 512;
  o.source_batch_size = 32;  // 4 rows x 8 sequences
  o.buffer_size = 5 * 32;
  o.pad_token_id = kPad;
  auto p = GreedyBestFitPacker::Create(src, o);
  ASSERT_TRUE(p.ok());
  std::vector<PackedBatch> rows;
  int batches = 0;
  while (true) {
    auto r = p->Next(&rows);
    ASSERT_TRUE(r.ok());
    if (!*r) break;
    ++batches;
  }
  std::printf("moby-dick paragraphs: %zu docs, %d batches, packing efficiency %.4f\n", lens.size(),
              batches, p->stats().efficiency());
  EXPECT_GT(p->stats().efficiency(), 0.97);
}

}  // namespace
}  // namespace mbert
