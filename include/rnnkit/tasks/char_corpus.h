// Character-level language modelling on a UTF-8 text.
//
// The corpus is the text decoded into Unicode code points; the vocabulary is the set of
// code points it uses, in increasing order (id = rank). A batch holds B windows of T + 1
// consecutive characters at random offsets: input ids at t = 0..T-1, target ids at
// t = 1..T (the next character), both time-major (index t * B + b).
// Loss is reported in bits per character (cross-entropy / ln 2). The baseline a model
// without context can reach is the unigram entropy of the text, unigram_bits_per_char().
// builtin() is a text rnnkit generates itself (deterministically) from a small grammar of
// English-like sentences, so that the task needs no download.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rnnkit/random/stream.h"

namespace rnnkit {

struct CharBatch {
  int64_t steps = 0, batch = 0;
  std::vector<int64_t> input;   // [T * B]
  std::vector<int64_t> target;  // [T * B]
};

class CharCorpus {
 public:
  // Throws Error naming `origin` and the byte offset of invalid UTF-8, or a text shorter
  // than 2 characters.
  static CharCorpus from_text(std::string_view utf8, const std::string& origin);
  static CharCorpus from_file(const std::string& path);
  // About `characters` characters of generated text (deterministic for a given size).
  static CharCorpus builtin(int64_t characters = 200000);

  // Characters [begin, end) with the whole text's vocabulary (e.g. a held-out part).
  // Throws Error unless 0 <= begin < end <= size().
  CharCorpus part(int64_t begin, int64_t end) const;

  int64_t vocabulary() const { return static_cast<int64_t>(symbols_.size()); }
  int64_t size() const { return static_cast<int64_t>(ids_.size()); }
  const std::vector<char32_t>& symbols() const { return symbols_; }
  const std::vector<int32_t>& ids() const { return ids_; }
  // The ids of a UTF-8 text (e.g. a prompt). Throws Error naming the first character the
  // vocabulary lacks, and invalid UTF-8.
  std::vector<int64_t> encode(std::string_view utf8) const;
  // UTF-8 of the given ids (e.g. sampled text).
  std::string decode(const std::vector<int64_t>& ids) const;
  // Throws Error if the text is shorter than steps + 1 characters.
  CharBatch batch(int64_t steps, int64_t batch, RandomStream& random) const;
  // Truncated BPTT reads the text as B contiguous streams, stream b starting at
  // b * floor(N / B); chunk k (k = 0, 1, ...) holds characters [k*T, k*T + T] of each
  // stream (inputs and next-character targets), wrapping to the streams' starts after
  // stream_chunks() chunks. Throws Error if a stream is shorter than T + 1 characters.
  CharBatch stream_chunk(int64_t steps, int64_t batch, int64_t chunk) const;
  int64_t stream_chunks(int64_t steps, int64_t batch) const;
  double unigram_bits_per_char() const;

 private:
  std::string origin_;
  std::vector<char32_t> symbols_;
  std::vector<int32_t> ids_;
};

}  // namespace rnnkit
