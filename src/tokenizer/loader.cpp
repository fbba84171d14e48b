// tokenizer.json -> tok::Model. Accepts exactly the components whose behaviour is implemented and
// names anything else (field and value) in the error instead of tokenizing differently from HF.
#include <atomic>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "mbert/tokenizer.h"
#include "tokenizer/json_scan.h"
#include "tokenizer/model.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace mbert {
namespace {

using nlohmann::json;
using tok::Model;

std::string TypeOf(const json& j) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return "";
  return j["type"].get<std::string>();
}

Status Unsupported(const std::string& origin, const std::string& field, const std::string& what) {
  return Status::Error(
      origin + ": " + field + " " + what +
      " is not supported by mbert's tokenizer (supported: BPE model, NFC "
      "normalizer, ByteLevel pre-tokenizer, TemplateProcessing, ByteLevel decoder)");
}

bool GetBool(const json& j, const char* key, bool def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  return j[key].is_boolean() ? j[key].get<bool>() : def;
}

Status ParseNormalizer(const json& j, const std::string& origin, Model* m) {
  if (j.is_null()) return Status::Ok();
  const std::string t = TypeOf(j);
  if (t == "NFC") {
    m->nfc = true;
    return Status::Ok();
  }
  if (t == "Sequence" && j.contains("normalizers") && j["normalizers"].is_array()) {
    for (const json& n : j["normalizers"]) {
      if (TypeOf(n) != "NFC")
        return Unsupported(origin, "normalizer.normalizers[]", "\"" + TypeOf(n) + "\"");
      m->nfc = true;
    }
    return Status::Ok();
  }
  return Unsupported(origin, "normalizer", "\"" + t + "\"");
}

Status ParseByteLevel(const json& j, const std::string& origin, const std::string& field,
                      Model* m) {
  m->add_prefix_space = GetBool(j, "add_prefix_space", true);
  m->use_regex = GetBool(j, "use_regex", true);
  // trim_offsets only acts in the ByteLevel *post-processor*; the pre-tokenizer ignores it.
  (void)origin;
  (void)field;
  return Status::Ok();
}

Status ParsePreTokenizer(const json& j, const std::string& origin, Model* m) {
  const std::string t = TypeOf(j);
  if (t == "ByteLevel") return ParseByteLevel(j, origin, "pre_tokenizer", m);
  if (t == "Sequence" && j.contains("pretokenizers") && j["pretokenizers"].is_array() &&
      j["pretokenizers"].size() == 1 && TypeOf(j["pretokenizers"][0]) == "ByteLevel")
    return ParseByteLevel(j["pretokenizers"][0], origin, "pre_tokenizer.pretokenizers[0]", m);
  return Unsupported(origin, "pre_tokenizer",
                     j.is_null() ? "null (byte-level BPE needs ByteLevel)" : "\"" + t + "\"");
}

// Vocabulary and merges as the scanner decoded them (the rest of "model" goes through nlohmann).
struct RawModel {
  bool has_vocab = false, has_merges = false;
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  json rest = json::object();
};

Status ScanModel(tok::JsonScanner& sc, const std::string& origin, RawModel* rm) {
  auto bad = [&](const std::string& what) {
    return Status::Error(origin + ": model: " + sc.Where(what));
  };
  if (!sc.Consume('{')) return bad("expected an object");
  if (sc.Consume('}')) return Status::Ok();
  std::string key, a, b;
  while (true) {
    if (!sc.String(&key) || !sc.Consume(':')) return bad("expected \"key\":");
    if (key == "vocab" && sc.Peek('{')) {
      rm->has_vocab = true;
      rm->vocab.reserve(65536);
      sc.Consume('{');
      if (!sc.Consume('}')) {
        while (true) {
          int64_t id;
          if (!sc.String(&a) || !sc.Consume(':')) return bad("model.vocab: expected \"token\":");
          if (!sc.Integer(&id)) return bad("model.vocab[\"" + a + "\"] is not an integer id");
          if (id < 0 || id > (int64_t{1} << 28))
            return Status::Error(origin + ": model.vocab[\"" + a + "\"] id " + std::to_string(id) +
                                 " out of range");
          rm->vocab.emplace_back(a, static_cast<int32_t>(id));
          if (sc.Consume(',')) continue;
          if (sc.Consume('}')) break;
          return bad("model.vocab: expected , or }");
        }
      }
    } else if (key == "merges" && sc.Peek('[')) {
      rm->has_merges = true;
      rm->merges.reserve(65536);
      sc.Consume('[');
      if (!sc.Consume(']')) {
        while (true) {
          const std::string idx = std::to_string(rm->merges.size());
          if (sc.Peek('"')) {
            if (!sc.String(&a)) return bad("model.merges[" + idx + "]: bad string");
            const size_t sp = a.find(' ');
            if (sp == std::string::npos || a.find(' ', sp + 1) != std::string::npos)
              return Status::Error(origin + ": model.merges[" + idx + "] \"" + a +
                                   "\" is not two tokens separated by one space");
            rm->merges.emplace_back(a.substr(0, sp), a.substr(sp + 1));
          } else if (sc.Consume('[')) {
            if (!sc.String(&a) || !sc.Consume(',') || !sc.String(&b) || !sc.Consume(']'))
              return bad("model.merges[" + idx + "] must be \"a b\" or [\"a\", \"b\"]");
            rm->merges.emplace_back(a, b);
          } else {
            return bad("model.merges[" + idx + "] must be \"a b\" or [\"a\", \"b\"]");
          }
          if (sc.Consume(',')) continue;
          if (sc.Consume(']')) break;
          return bad("model.merges: expected , or ]");
        }
      }
    } else {
      sc.SkipWs();
      const size_t start = sc.pos();
      if (!sc.SkipValue()) return bad("model." + key + ": invalid JSON value");
      const std::string_view span = sc.text().substr(start, sc.pos() - start);
      json v = json::parse(span.begin(), span.end(), nullptr, false);
      if (v.is_discarded()) return bad("model." + key + ": invalid JSON value");
      rm->rest[key] = std::move(v);
    }
    if (sc.Consume(',')) continue;
    if (sc.Consume('}')) return Status::Ok();
    return bad("expected , or }");
  }
}

Status ParseModel(RawModel& rm, const std::string& origin, Model* m) {
  const json& j = rm.rest;
  const std::string t = TypeOf(j);
  if (!t.empty() && t != "BPE") return Unsupported(origin, "model.type", "\"" + t + "\"");
  if (j.contains("dropout") && !j["dropout"].is_null() &&
      !(j["dropout"].is_number() && j["dropout"].get<double>() == 0.0))
    return Unsupported(origin, "model.dropout", "(random BPE dropout)");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (j.contains(k) && !j[k].is_null() && !(j[k].is_string() && j[k].get<std::string>().empty()))
      return Unsupported(origin, std::string("model.") + k, "(non-empty affix)");
  }
  if (!rm.has_vocab)
    return Status::Error(origin + ": model.vocab is missing or not an object of token -> id");
  if (!rm.has_merges) return Status::Error(origin + ": model.merges is missing or not an array");
  tok::BpeConfig cfg;
  cfg.byte_fallback = GetBool(j, "byte_fallback", false);
  cfg.ignore_merges = GetBool(j, "ignore_merges", false);
  cfg.fuse_unk = GetBool(j, "fuse_unk", false);
  std::string unk_token;
  if (j.contains("unk_token") && !j["unk_token"].is_null()) {
    if (!j["unk_token"].is_string())
      return Status::Error(origin + ": model.unk_token is not a string");
    unk_token = j["unk_token"].get<std::string>();
  }
  MBERT_RETURN_IF_ERROR(m->bpe.Init(std::move(rm.vocab), rm.merges, cfg, origin));
  if (!unk_token.empty()) {
    cfg.unk_id = m->bpe.TokenToId(unk_token);
    if (cfg.unk_id < 0)
      return Status::Error(origin + ": model.unk_token \"" + unk_token +
                           "\" is not in model.vocab");
    m->bpe.set_config(cfg);
  }
  return Status::Ok();
}

Status ParseAddedTokens(const json& j, const std::string& origin, Model* m) {
  if (j.is_null()) return Status::Ok();
  if (!j.is_array()) return Status::Error(origin + ": added_tokens is not an array");
  for (size_t i = 0; i < j.size(); ++i) {
    const json& a = j[i];
    const std::string field = "added_tokens[" + std::to_string(i) + "]";
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
        !a.contains("content") || !a["content"].is_string())
      return Status::Error(origin + ": " + field +
                           " needs an integer \"id\" and a string \"content\"");
    tok::AddedToken t;
    const int64_t id = a["id"].get<int64_t>();
    if (id < 0 || id > (int64_t{1} << 28))
      return Status::Error(origin + ": " + field + ".id " + std::to_string(id) + " out of range");
    t.id = static_cast<int32_t>(id);
    t.content = a["content"].get<std::string>();
    MBERT_RETURN_IF_ERROR(tok::ValidateUtf8(t.content, origin + ": " + field + ".content"));
    t.special = GetBool(a, "special", false);
    t.normalized = GetBool(a, "normalized", !t.special);
    t.lstrip = GetBool(a, "lstrip", false);
    t.rstrip = GetBool(a, "rstrip", false);
    t.single_word = GetBool(a, "single_word", false);
    m->added_by_content.emplace(t.content, t.id);
    m->added_by_id.emplace(t.id, static_cast<int32_t>(m->added.size()));
    m->added.push_back(std::move(t));
  }
  // Normalized tokens are searched in normalized text, so their content is normalized too.
  std::vector<int32_t> raw, norm;
  for (size_t i = 0; i < m->added.size(); ++i) {
    tok::AddedToken& t = m->added[i];
    if (t.normalized) {
      if (m->nfc) t.content = tok::NfcAligned(t.content).text;
      norm.push_back(static_cast<int32_t>(i));
    } else {
      raw.push_back(static_cast<int32_t>(i));
    }
  }
  m->raw_matcher.Build(&m->added, raw);
  m->norm_matcher.Build(&m->added, norm);
  return Status::Ok();
}

int32_t LookupId(const Model& m, const std::string& token) {
  const auto it = m.added_by_content.find(token);
  if (it != m.added_by_content.end()) return it->second;
  return m.bpe.TokenToId(token);
}

Status ParseTemplate(const json& j, const std::string& origin, const std::string& field,
                     const json& specials, std::vector<tok::TemplatePiece>* out) {
  if (!j.is_array()) return Status::Error(origin + ": " + field + " is not an array");
  for (size_t i = 0; i < j.size(); ++i) {
    const json& p = j[i];
    tok::TemplatePiece piece;
    const std::string f = field + "[" + std::to_string(i) + "]";
    if (p.contains("Sequence")) {
      const json& s = p["Sequence"];
      const std::string id = s.value("id", "");
      if (id != "A" && id != "B")
        return Status::Error(origin + ": " + f + ".Sequence.id must be \"A\" or \"B\"");
      piece.is_sequence = true;
      piece.sequence = id == "A" ? 0 : 1;
      piece.type_id = s.value("type_id", 0);
    } else if (p.contains("SpecialToken")) {
      const json& s = p["SpecialToken"];
      const std::string id = s.value("id", "");
      if (!specials.contains(id))
        return Status::Error(origin + ": " + f + " uses special token \"" + id +
                             "\" missing from post_processor.special_tokens");
      const json& sp = specials[id];
      if (!sp.contains("ids") || !sp["ids"].is_array() || !sp.contains("tokens") ||
          !sp["tokens"].is_array() || sp["ids"].size() != sp["tokens"].size())
        return Status::Error(origin + ": post_processor.special_tokens[\"" + id +
                             "\"] needs arrays \"ids\" and \"tokens\" of equal length");
      for (const json& x : sp["ids"]) piece.ids.push_back(x.get<int32_t>());
      for (const json& x : sp["tokens"]) piece.tokens.push_back(x.get<std::string>());
      piece.type_id = s.value("type_id", 0);
    } else {
      return Status::Error(origin + ": " + f + " is neither a Sequence nor a SpecialToken");
    }
    out->push_back(std::move(piece));
  }
  return Status::Ok();
}

Status ParsePostProcessor(const json& j, const std::string& origin, Model* m) {
  if (j.is_null()) return Status::Ok();
  const std::string t = TypeOf(j);
  if (t != "TemplateProcessing") return Unsupported(origin, "post_processor", "\"" + t + "\"");
  const json specials = j.value("special_tokens", json::object());
  MBERT_RETURN_IF_ERROR(ParseTemplate(j.value("single", json()), origin, "post_processor.single",
                                      specials, &m->single));
  MBERT_RETURN_IF_ERROR(
      ParseTemplate(j.value("pair", json()), origin, "post_processor.pair", specials, &m->pair));
  for (const auto& piece : m->single)
    if (piece.is_sequence && piece.sequence == 1)
      return Status::Error(
          origin +
          ": post_processor.single uses sequence B; a single-sequence template may only use A");
  m->has_template = true;
  return Status::Ok();
}

std::atomic<uint64_t> g_instances{0};

}  // namespace

Result<Tokenizer> Tokenizer::FromJsonString(std::string_view text, const std::string& origin) {
  MBERT_RETURN_IF_ERROR(tok::ValidateUtf8(text, origin));
  auto m = std::make_shared<Model>();
  m->instance = ++g_instances;
  // Walk the top-level object: "model" is scanned directly, the other sections are small and
  // go through nlohmann.
  tok::JsonScanner sc(text);
  auto bad = [&](const std::string& what) {
    return Status::Error(origin + ": not a valid tokenizer.json, " + sc.Where(what));
  };
  RawModel rm;
  bool has_model = false;
  json top = json::object();
  if (!sc.Consume('{')) return bad("expected a JSON object");
  if (!sc.Consume('}')) {
    std::string key;
    while (true) {
      if (!sc.String(&key) || !sc.Consume(':')) return bad("expected \"key\":");
      if (key == "model" && sc.Peek('{')) {
        MBERT_RETURN_IF_ERROR(ScanModel(sc, origin, &rm));
        has_model = true;
      } else {
        sc.SkipWs();
        const size_t start = sc.pos();
        if (!sc.SkipValue()) return bad("invalid JSON value for \"" + key + "\"");
        const std::string_view span = text.substr(start, sc.pos() - start);
        json v = json::parse(span.begin(), span.end(), nullptr, false);
        if (v.is_discarded()) return bad("invalid JSON value for \"" + key + "\"");
        top[key] = std::move(v);
      }
      if (sc.Consume(',')) continue;
      if (sc.Consume('}')) break;
      return bad("expected , or }");
    }
  }
  sc.SkipWs();
  if (sc.pos() != text.size()) return bad("unexpected text after the top-level object");
  if (!has_model) return Status::Error(origin + ": \"model\" is missing or not an object");
  try {
    for (const char* k : {"truncation", "padding"}) {
      if (top.contains(k) && !top[k].is_null())
        return Status::Error(origin + ": \"" + k +
                             "\" is set in the file; mbert takes truncation and padding from "
                             "EncodeOptions, set it to null");
    }
    MBERT_RETURN_IF_ERROR(ParseNormalizer(top.value("normalizer", json()), origin, m.get()));
    MBERT_RETURN_IF_ERROR(ParsePreTokenizer(top.value("pre_tokenizer", json()), origin, m.get()));
    MBERT_RETURN_IF_ERROR(ParseModel(rm, origin, m.get()));
    MBERT_RETURN_IF_ERROR(ParseAddedTokens(top.value("added_tokens", json()), origin, m.get()));
    MBERT_RETURN_IF_ERROR(ParsePostProcessor(top.value("post_processor", json()), origin, m.get()));
    const json dec = top.value("decoder", json());
    if (TypeOf(dec) == "ByteLevel") {
      m->byte_level_decoder = true;
    } else if (!dec.is_null()) {
      return Unsupported(origin, "decoder", "\"" + TypeOf(dec) + "\"");
    }
  } catch (const json::exception& e) {
    // A field of the wrong JSON type deep inside (e.g. a string id where a number belongs).
    return Status::Error(origin + ": malformed tokenizer.json: " + e.what());
  }
  m->cls = LookupId(*m, "[CLS]");
  m->sep = LookupId(*m, "[SEP]");
  m->mask = LookupId(*m, "[MASK]");
  m->unk = LookupId(*m, "[UNK]");
  for (const char* p : {"[PAD]", "<pad>", "<|padding|>"}) {
    m->pad = LookupId(*m, p);
    if (m->pad >= 0) {
      m->pad_token = p;
      break;
    }
  }
  int32_t max_id = m->bpe.max_id();
  for (const auto& a : m->added) max_id = std::max(max_id, a.id);
  m->vocab_size = static_cast<size_t>(max_id + 1);
  return Tokenizer(std::move(m));
}

Result<Tokenizer> Tokenizer::FromFile(const std::string& path) {
  MBERT_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return FromJsonString(text, path);
}

Result<Tokenizer> Tokenizer::FromModelDir(const std::string& dir) {
  const std::string path = dir + "/tokenizer.json";
  if (!FileExists(path))
    return Status::Error(path +
                         ": not found; a model directory needs the tokenizer.json saved with it");
  return FromFile(path);
}

}  // namespace mbert
