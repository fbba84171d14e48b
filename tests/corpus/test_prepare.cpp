// mbert data prepare as a library: determinism across thread counts, counts of dropped documents,
// the validation split, windows of long documents, and errors for bad input.
#include <gtest/gtest.h>

#include <map>

#include "corpus/dedup.h"
#include "corpus/prepare.h"
#include "corpus/shard.h"
#include "corpus_test_util.h"
#include "mbert/tokenizer.h"

namespace mbert::corpus {
namespace {

using namespace testing;  // NOLINT

// A small mixed source tree: prose paragraphs (with near-duplicates), JSONL (with empty and
// duplicate documents), HTML, reST, code and a binary file.
fs::path MakeSources(const fs::path& root) {
  WriteText(root / "prose" / "moby.txt", SharedCorpusPrefix("moby-dick.txt", 60000));
  WriteText(root / "prose" / "extra.txt",
            "The whale surfaced near the ship.\n\n"
            "the WHALE surfaced, near the ship!\n\n"  // near-duplicate of the paragraph above
            "   \n\t\n"
            "A paragraph only this file has.\n");
  WriteText(root / "news.jsonl",
            "{\"text\": \"Congress met today.\"}\n"
            "{\"text\": \"\"}\n"
            "\n"
            "{\"text\": \"   \\n  \"}\n"
            "{\"text\": \"congress   met today\"}\n"
            "{\"text\": \"The budget passed.\", \"year\": 1999}\n");
  WriteText(root / "docs" / "page.html",
            "<html><head><title>T</title><style>p{}</style></head><body><h1>Install</h1>"
            "<p>Run <code>make</code> &amp; wait.</p><script>var x=1;</script></body></html>");
  WriteText(root / "docs" / "guide.rst",
            "Guide\n=====\n\n.. note::\n   :class: x\n\n   Read :func:`open` first.\n\n"
            "Use ``mbert`` with `the site <https://x.org>`_.\n");
  WriteText(root / "code" / "a.py", "def f(x):\n    return x + 1\n");
  WriteText(root / "code" / "b.py", "def f(x):\n    return x + 1\n");  // exact duplicate
  WriteText(root / "code" / "bin.py", std::string("\x7f"
                                                  "ELF\0\0\0binary",
                                                  14));
  WriteText(root / "code" / "image.png", "not taken: unknown kind");
  return root;
}

PrepareOptions Options(const fs::path& src, const fs::path& out) {
  PrepareOptions o;
  o.tokenizer = TokenizerPath();
  o.sources = {{"prose", (src / "prose").string(), {}},
               {"news", (src / "news.jsonl").string(), {}},
               {"docs", (src / "docs").string(), {}},
               {"code", (src / "code").string(), {"*.py"}}};
  o.out_dir = out.string();
  o.shard_tokens = 1500;  // several shards per source
  o.seed = 7;
  o.val_fraction = 0.2;
  o.max_seq_len = 64;     // long paragraphs become several windows
  o.batch_bytes = 16000;  // several batches per source
  return o;
}

std::map<std::string, std::string> FilesOf(const fs::path& dir) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::directory_iterator(dir)) m[e.path().filename()] = ReadText(e.path());
  return m;
}

TEST(Prepare, ByteIdenticalForAnyThreadCount) {
  const fs::path root = TempDir();
  const fs::path src = MakeSources(root / "src");
  PrepareOptions a = Options(src, root / "out1");
  a.threads = 1;
  PrepareOptions b = Options(src, root / "out2");
  b.threads = 2;
  b.batch_bytes = 5000;  // different batching must not matter either
  auto ma = PrepareCorpus(a);
  ASSERT_TRUE(ma.ok()) << ma.status().message();
  auto mb = PrepareCorpus(b);
  ASSERT_TRUE(mb.ok()) << mb.status().message();
  const auto fa = FilesOf(root / "out1"), fb = FilesOf(root / "out2");
  ASSERT_GT(fa.size(), 6u) << "expected several shards";
  ASSERT_EQ(fa.size(), fb.size());
  for (const auto& [name, bytes] : fa) {
    ASSERT_TRUE(fb.count(name)) << name;
    EXPECT_TRUE(bytes == fb.at(name)) << name << " differs between 1 and 2 threads";
  }
  EXPECT_TRUE(fa.count("manifest.json"));
}

TEST(Prepare, CountsDroppedDocuments) {
  const fs::path root = TempDir();
  const fs::path src = MakeSources(root / "src");
  auto m = PrepareCorpus(Options(src, root / "out"));
  ASSERT_TRUE(m.ok()) << m.status().message();
  const SourceEntry* news = m->FindSource("news");
  ASSERT_NE(news, nullptr);
  EXPECT_EQ(news->documents, 5u);  // the blank line is not a document
  EXPECT_EQ(news->dropped_empty, 2u);
  EXPECT_EQ(news->dropped_duplicate, 1u);
  EXPECT_EQ(news->train.documents + news->val.documents, 2u);
  const SourceEntry* code = m->FindSource("code");
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->files, 3u) << "*.py only";
  EXPECT_EQ(code->dropped_duplicate, 1u);
  EXPECT_EQ(code->dropped_invalid, 1u) << "the binary .py";
  EXPECT_EQ(code->train.documents + code->val.documents, 1u);
  const SourceEntry* docs = m->FindSource("docs");
  ASSERT_NE(docs, nullptr);
  EXPECT_EQ(docs->files, 2u) << "html and rst; the directory crawl takes known kinds only";
  const SourceEntry* prose = m->FindSource("prose");
  ASSERT_NE(prose, nullptr);
  EXPECT_GE(prose->dropped_duplicate, 1u) << "the re-punctuated whale paragraph";
  // Counts add up, and match the shards.
  for (const SourceEntry& s : m->sources)
    EXPECT_EQ(s.documents,
              s.dropped_empty + s.dropped_duplicate + s.train.documents + s.val.documents)
        << s.name;
  // Reading the manifest back validates it and gives the same content.
  auto back = Manifest::Read((root / "out").string());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->ToJson(), m->ToJson());
}

TEST(Prepare, SequencesAreWindowsOfTheTokenizedDocument) {
  const fs::path root = TempDir();
  const std::string para =
      "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money "
      "in my purse, and nothing particular to interest me on shore, I thought I would sail about "
      "a little and see the watery part of the world.";
  WriteText(root / "one.txt", para + "\n");
  PrepareOptions o;
  o.tokenizer = TokenizerPath();
  o.sources = {{"one", (root / "one.txt").string(), {}}};
  o.out_dir = (root / "out").string();
  o.max_seq_len = 16;
  o.val_fraction = 0;
  auto m = PrepareCorpus(o);
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto tok = Tokenizer::FromFile(TokenizerPath());
  ASSERT_TRUE(tok.ok());
  EncodeOptions eo;
  eo.add_special_tokens = false;
  auto enc = tok->Encode(para, eo);
  ASSERT_TRUE(enc.ok());
  ASSERT_EQ(m->shards.size(), 1u);
  auto r = ShardReader::Open((root / "out" / m->shards[0].file).string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->sha256(), m->shards[0].sha256);
  std::vector<int32_t> inner;
  for (uint64_t d = 0; d < r->documents(); ++d) {
    auto s = r->Document(d);
    ASSERT_GE(s.size(), 3u);
    ASSERT_LE(s.size(), 16u);
    EXPECT_EQ(static_cast<int32_t>(s.front()), tok->cls_id());
    EXPECT_EQ(static_cast<int32_t>(s.back()), tok->sep_id());
    for (size_t i = 1; i + 1 < s.size(); ++i) inner.push_back(static_cast<int32_t>(s[i]));
    if (d + 1 < r->documents()) {
      EXPECT_EQ(s.size(), 16u) << "only the last window is short";
    }
  }
  EXPECT_EQ(inner, enc->ids);
  EXPECT_EQ(r->documents(), (enc->ids.size() + 13) / 14);
  EXPECT_EQ(m->sources[0].train.sequences, r->documents());
}

// The decoded first ids of every val sequence of one source: what the split holds.
std::multiset<std::vector<uint32_t>> ValSequences(const fs::path& out, const Manifest& m,
                                                  const std::string& source) {
  std::multiset<std::vector<uint32_t>> s;
  for (const ShardEntry& e : m.shards) {
    if (e.source != source || e.split != "val") continue;
    auto r = ShardReader::Open((out / e.file).string());
    EXPECT_TRUE(r.ok());
    for (uint64_t d = 0; d < r->documents(); ++d) {
      auto span = r->Document(d);
      s.insert(std::vector<uint32_t>(span.begin(), span.end()));
    }
  }
  return s;
}

TEST(Prepare, ValidationSplitIsStable) {
  const fs::path root = TempDir();
  const fs::path src = MakeSources(root / "src");
  PrepareOptions a = Options(src, root / "a");
  auto ma = PrepareCorpus(a);
  ASSERT_TRUE(ma.ok()) << ma.status().message();
  // Other shard sizes, another thread count, and a source more prepared alongside: the same
  // prose paragraphs are held out.
  PrepareOptions b = Options(src, root / "b");
  b.shard_tokens = 100000;
  b.threads = 1;
  WriteText(root / "src" / "other.txt", "Something else entirely.\n\nAnd one more paragraph.\n");
  b.sources.insert(b.sources.begin(), {"other", (root / "src" / "other.txt").string(), {}});
  auto mb = PrepareCorpus(b);
  ASSERT_TRUE(mb.ok()) << mb.status().message();
  const auto va = ValSequences(root / "a", *ma, "prose");
  EXPECT_FALSE(va.empty());
  EXPECT_EQ(va, ValSequences(root / "b", *mb, "prose"));
  const SourceEntry* p = ma->FindSource("prose");
  const double frac = static_cast<double>(p->val.documents) /
                      static_cast<double>(p->val.documents + p->train.documents);
  EXPECT_GT(frac, 0.1) << "val_fraction 0.2 over " << p->documents << " paragraphs";
  EXPECT_LT(frac, 0.3);
  // Another seed holds out other documents.
  PrepareOptions c = Options(src, root / "c");
  c.seed = 8;
  auto mc = PrepareCorpus(c);
  ASSERT_TRUE(mc.ok());
  EXPECT_NE(va, ValSequences(root / "c", *mc, "prose"));
}

TEST(Prepare, DuplicatesAcrossSourcesCountInTheLaterSource) {
  const fs::path root = TempDir();
  WriteText(root / "a.txt", "Shared paragraph here.\n\nOnly in a.\n");
  WriteText(root / "b.txt", "shared PARAGRAPH here\n\nOnly in b.\n");
  PrepareOptions o;
  o.tokenizer = TokenizerPath();
  o.sources = {{"a", (root / "a.txt").string(), {}}, {"b", (root / "b.txt").string(), {}}};
  o.out_dir = (root / "out").string();
  o.val_fraction = 0;
  auto m = PrepareCorpus(o);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->sources[0].dropped_duplicate, 0u);
  EXPECT_EQ(m->sources[0].train.documents, 2u);
  EXPECT_EQ(m->sources[1].dropped_duplicate, 1u);
  EXPECT_EQ(m->sources[1].train.documents, 1u);
}

TEST(Prepare, BadInputNamesTheFileAndTheFix) {
  const fs::path root = TempDir();
  WriteText(root / "bad.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"no text field\"}\n");
  PrepareOptions o;
  o.tokenizer = TokenizerPath();
  o.sources = {{"bad", (root / "bad.jsonl").string(), {}}};
  o.out_dir = (root / "out").string();
  auto m = PrepareCorpus(o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("bad.jsonl:2"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("--jsonl-field"), std::string::npos);

  o.sources = {{"gone", (root / "missing").string(), {}}};
  o.out_dir = (root / "out2").string();
  m = PrepareCorpus(o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("missing does not exist"), std::string::npos)
      << m.status().message();

  WriteText(root / "full" / "x", "old");
  o.sources = {{"ok", (root / "bad.jsonl").string(), {}}};
  o.out_dir = (root / "full").string();
  m = PrepareCorpus(o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("is not empty"), std::string::npos);

  o.out_dir = (root / "out3").string();
  o.tokenizer = (root / "nowhere").string();
  m = PrepareCorpus(o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("--tokenizer"), std::string::npos);
}

TEST(SourceSpec, Parses) {
  auto s = ParseSourceSpec("py=/usr/lib/python3.11:*.py,*.rst");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "py");
  EXPECT_EQ(s->path, "/usr/lib/python3.11");
  EXPECT_EQ(s->globs, (std::vector<std::string>{"*.py", "*.rst"}));
  EXPECT_FALSE(ParseSourceSpec("/no/name").ok());
  EXPECT_FALSE(ParseSourceSpec("a/b=/x").ok());
  EXPECT_FALSE(ParseSourceSpec("a=").ok());
  EXPECT_FALSE(ParseSourceSpec("a=/x:").ok());
}

TEST(SourceSpec, FileKinds) {
  EXPECT_EQ(KindOfPath("a/b.JSONL"), FileKind::kJsonl);
  EXPECT_EQ(KindOfPath("x.txt"), FileKind::kParagraphs);
  EXPECT_EQ(KindOfPath("_sources/library/os.rst.txt"), FileKind::kRst);
  EXPECT_EQ(KindOfPath("page.htm"), FileKind::kHtml);
  EXPECT_EQ(KindOfPath("src/os/file.go"), FileKind::kWholeFile);
  EXPECT_EQ(KindOfPath("Makefile"), FileKind::kWholeFile);
  EXPECT_EQ(KindOfPath("logo.png"), FileKind::kUnknown);
}

TEST(Dedup, NormalisationCatchesCaseSpacingAndPunctuation) {
  EXPECT_EQ(DedupKey("Hello,   World!\n"), DedupKey("hello world"));
  EXPECT_EQ(NormaliseForDedup("  A--b\tC.  "), "a b c");
  EXPECT_NE(DedupKey("hello world"), DedupKey("hello word"));
  EXPECT_NE(DedupKey("héllo"), DedupKey("hello"));
  EXPECT_TRUE(IsBlank(" \n\t"));
  EXPECT_FALSE(IsBlank(" x "));
}

}  // namespace
}  // namespace mbert::corpus
