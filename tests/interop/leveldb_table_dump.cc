// Prints a LevelDB-format table (a TensorFlow .index file) as read by LevelDB itself, one line
// per entry, "<hex key> <hex value>", for tests/interop/tf_bundle_check.py: an independent
// reader of the tables rnnkit writes. Block checksums are verified (paranoid reads); any error
// LevelDB reports exits with status 1 and its message.
#include <leveldb/env.h>
#include <leveldb/iterator.h>
#include <leveldb/options.h>
#include <leveldb/table.h>

#include <cstdio>
#include <memory>
#include <string>

namespace {

std::string hex(const leveldb::Slice& s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

int fail(const std::string& what, const leveldb::Status& status) {
  std::fprintf(stderr, "leveldb_table_dump: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: leveldb_table_dump TABLE_FILE\n");
    return 2;
  }
  leveldb::Env* env = leveldb::Env::Default();
  uint64_t size = 0;
  leveldb::Status s = env->GetFileSize(argv[1], &size);
  if (!s.ok()) return fail(argv[1], s);
  leveldb::RandomAccessFile* raw = nullptr;
  s = env->NewRandomAccessFile(argv[1], &raw);
  if (!s.ok()) return fail(argv[1], s);
  const std::unique_ptr<leveldb::RandomAccessFile> file(raw);
  leveldb::Options options;
  options.paranoid_checks = true;
  leveldb::Table* table = nullptr;
  s = leveldb::Table::Open(options, file.get(), size, &table);
  if (!s.ok()) return fail(argv[1], s);
  const std::unique_ptr<leveldb::Table> owned(table);
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  const std::unique_ptr<leveldb::Iterator> it(table->NewIterator(read));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::printf("%s %s\n", hex(it->key()).c_str(), hex(it->value()).c_str());
  }
  if (!it->status().ok()) return fail(argv[1], it->status());
  return 0;
}
