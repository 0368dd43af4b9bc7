// Character-level corpora; see tasks/char_corpus.h.
#include "rnnkit/tasks/char_corpus.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>

#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

std::string hex_byte(unsigned char c) {
  static const char* kDigits = "0123456789ABCDEF";
  return std::string("0x") + kDigits[c >> 4] + kDigits[c & 0xF];
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, at most U+10FFFF.
std::vector<char32_t> decode_utf8(std::string_view text, const std::string& origin) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    int length = 0;
    char32_t cp = 0, minimum = 0;
    if (lead < 0x80) {
      length = 1, cp = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2, cp = lead & 0x1F, minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, cp = lead & 0x0F, minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, cp = lead & 0x07, minimum = 0x10000;
    } else {
      throw Error("text '" + origin + "': invalid UTF-8 lead byte " + hex_byte(lead) + " at byte offset " +
                  std::to_string(i));
    }
    if (i + static_cast<std::size_t>(length) > text.size()) {
      throw Error("text '" + origin + "': truncated UTF-8 sequence at byte offset " + std::to_string(i));
    }
    for (int k = 1; k < length; ++k) {
      const auto c = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((c & 0xC0) != 0x80) {
        throw Error("text '" + origin + "': invalid UTF-8 continuation byte at byte offset " +
                    std::to_string(i + static_cast<std::size_t>(k)));
      }
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < minimum || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      throw Error("text '" + origin + "': invalid UTF-8 (overlong, surrogate or beyond U+10FFFF) at byte offset " +
                  std::to_string(i));
    }
    out.push_back(cp);
    i += static_cast<std::size_t>(length);
  }
  return out;
}

void encode_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Sentences from a small grammar: subject, verb, object, an optional clause; capitals,
// commas and full stops, paragraphs. Enough structure for a character model to learn
// words, agreement-free syntax and punctuation.
std::string generate_text(int64_t characters) {
  static const std::array<const char*, 12> kSubjects = {"the cat",      "a small bird", "the old man", "my sister",
                                                        "the river",    "our teacher",  "a tired dog", "the wind",
                                                        "the children", "a stranger",   "the baker",   "her friend"};
  static const std::array<const char*, 10> kVerbs = {"watches", "follows", "finds",   "remembers", "carries",
                                                     "paints",  "hears",   "forgets", "visits",    "answers"};
  static const std::array<const char*, 10> kObjects = {
      "the red door",  "a quiet street",  "the morning light", "an empty boat",  "the long road",
      "a green field", "the last letter", "a warm loaf",       "the high tower", "an open window"};
  static const std::array<const char*, 6> kClauses = {"before the rain", "after dinner",   "in the evening",
                                                      "with great care", "without a word", "near the market"};
  RandomStream random(0, "tasks/char_corpus/builtin");
  auto pick = [&](const auto& words) {
    return words[static_cast<std::size_t>(random.uniform() * static_cast<double>(words.size()))];
  };
  std::string text;
  int sentences = 0;
  while (static_cast<int64_t>(text.size()) < characters) {
    std::string sentence = std::string(pick(kSubjects)) + " " + pick(kVerbs) + " " + pick(kObjects);
    if (random.uniform() < 0.5) sentence += std::string(", ") + pick(kClauses);
    sentence[0] = static_cast<char>(sentence[0] - 'a' + 'A');
    text += sentence + ".";
    text += ++sentences % 5 == 0 ? "\n\n" : " ";
  }
  return text;
}

}  // namespace

CharCorpus CharCorpus::from_text(std::string_view utf8, const std::string& origin) {
  const std::vector<char32_t> text = decode_utf8(utf8, origin);
  if (text.size() < 2) {
    throw Error("text '" + origin + "': " + std::to_string(text.size()) + " characters, expected at least 2");
  }
  CharCorpus c;
  c.origin_ = origin;
  c.symbols_ = text;
  std::sort(c.symbols_.begin(), c.symbols_.end());
  c.symbols_.erase(std::unique(c.symbols_.begin(), c.symbols_.end()), c.symbols_.end());
  c.ids_.reserve(text.size());
  for (char32_t cp : text) {
    c.ids_.push_back(
        static_cast<int32_t>(std::lower_bound(c.symbols_.begin(), c.symbols_.end(), cp) - c.symbols_.begin()));
  }
  return c;
}

CharCorpus CharCorpus::from_file(const std::string& path) {
  const std::vector<std::byte> bytes = read_file(path);
  return from_text(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

CharCorpus CharCorpus::builtin(int64_t characters) { return from_text(generate_text(characters), "(built-in corpus)"); }

std::string CharCorpus::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    if (id < 0 || id >= vocabulary()) {
      throw Error("decode: id " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(vocabulary()) + ")");
    }
    encode_utf8(symbols_[static_cast<std::size_t>(id)], out);
  }
  return out;
}

CharBatch CharCorpus::batch(int64_t steps, int64_t batch, RandomStream& random) const {
  if (steps < 1 || batch < 1 || size() < steps + 1) {
    throw Error("text '" + origin_ + "': a batch of T=" + std::to_string(steps) + ", B=" + std::to_string(batch) +
                " needs T, B >= 1 and at least T + 1 characters; the text has " + std::to_string(size()));
  }
  CharBatch out{steps, batch, std::vector<int64_t>(static_cast<std::size_t>(steps * batch)),
                std::vector<int64_t>(static_cast<std::size_t>(steps * batch))};
  const double starts = static_cast<double>(size() - steps);  // offsets 0 .. size - steps - 1
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t start = std::min(size() - steps - 1, static_cast<int64_t>(random.uniform() * starts));
    for (int64_t t = 0; t < steps; ++t) {
      out.input[static_cast<std::size_t>(t * batch + b)] = ids_[static_cast<std::size_t>(start + t)];
      out.target[static_cast<std::size_t>(t * batch + b)] = ids_[static_cast<std::size_t>(start + t + 1)];
    }
  }
  return out;
}

std::vector<int64_t> CharCorpus::encode(std::string_view utf8) const {
  std::vector<int64_t> ids;
  for (const char32_t cp : decode_utf8(utf8, "text to encode")) {
    const auto it = std::lower_bound(symbols_.begin(), symbols_.end(), cp);
    if (it == symbols_.end() || *it != cp) {
      std::string ch;
      encode_utf8(cp, ch);
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(cp));
      throw Error("character '" + ch + "' (" + code + ") is not in the vocabulary of text '" + origin_ + "' (" +
                  std::to_string(symbols_.size()) + " characters)");
    }
    ids.push_back(it - symbols_.begin());
  }
  return ids;
}

CharCorpus CharCorpus::part(int64_t begin, int64_t end) const {
  if (begin < 0 || end <= begin || end > size()) {
    throw Error("text '" + origin_ + "': part [" + std::to_string(begin) + ", " + std::to_string(end) +
                ") is not inside its " + std::to_string(size()) + " characters");
  }
  CharCorpus out;
  out.origin_ = origin_ + "[" + std::to_string(begin) + ":" + std::to_string(end) + "]";
  out.symbols_ = symbols_;
  out.ids_.assign(ids_.begin() + begin, ids_.begin() + end);
  return out;
}

int64_t CharCorpus::stream_chunks(int64_t steps, int64_t batch) const {
  const int64_t stream = batch < 1 ? 0 : size() / batch;
  if (steps < 1 || batch < 1 || stream < steps + 1) {
    throw Error("text '" + origin_ + "': " + std::to_string(batch) +
                " streams of chunks of T=" + std::to_string(steps) +
                " need at least B * (T + 1) = " + std::to_string(std::max<int64_t>(batch, 1) * (steps + 1)) +
                " characters; the text has " + std::to_string(size()));
  }
  return (stream - 1) / steps;
}

CharBatch CharCorpus::stream_chunk(int64_t steps, int64_t batch, int64_t chunk) const {
  const int64_t chunks = stream_chunks(steps, batch);
  const int64_t stream = size() / batch;
  const int64_t first = (chunk % chunks) * steps;
  CharBatch out{steps, batch, std::vector<int64_t>(static_cast<std::size_t>(steps * batch)),
                std::vector<int64_t>(static_cast<std::size_t>(steps * batch))};
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < steps; ++t) {
      const auto at = static_cast<std::size_t>(b * stream + first + t);
      out.input[static_cast<std::size_t>(t * batch + b)] = ids_[at];
      out.target[static_cast<std::size_t>(t * batch + b)] = ids_[at + 1];
    }
  }
  return out;
}

double CharCorpus::unigram_bits_per_char() const {
  std::vector<int64_t> counts(symbols_.size(), 0);
  for (int32_t id : ids_) ++counts[static_cast<std::size_t>(id)];
  double bits = 0;
  for (int64_t c : counts) {
    if (c == 0) continue;
    const double p = static_cast<double>(c) / static_cast<double>(ids_.size());
    bits -= p * std::log2(p);
  }
  return bits;
}

}  // namespace rnnkit
