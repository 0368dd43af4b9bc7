// What a path given for a TensorFlow checkpoint points at; see formats/tf_checkpoint.h.
//
// The `checkpoint` state file is protobuf text (CheckpointState): lines
//   model_checkpoint_path: "model.ckpt-1000"          the latest
//   all_model_checkpoint_paths: "model.ckpt-500"      oldest first
// and, from later TensorFlow versions, timestamps; other lines are skipped.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"
#include "tf_checkpoint_state.h"

namespace rnnkit {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxStateFileBytes = 1u << 20;

bool is_regular(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A V1 checkpoint, or any table: a regular file whose last 8 bytes are the table magic.
bool ends_in_table_footer(const std::string& path) {
  if (!is_regular(path)) return false;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const std::streamoff size = in.tellg();
  if (size < static_cast<std::streamoff>(kTfTableFooterSize)) return false;
  in.seekg(size - 8);
  unsigned char magic[8];
  in.read(reinterpret_cast<char*>(magic), 8);
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | magic[i];
  return in.gcount() == 8 && value == kTfTableMagic;
}

// The V1 checkpoints (table files that are not a bundle's .index) directly in `dir`.
std::vector<std::string> v1_files_in(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(".index") && e.is_regular_file(ec) && ends_in_table_footer(e.path().string())) {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A checkpoint at `prefix`, either format.
bool exists_at(const std::string& prefix) { return is_regular(prefix + ".index") || is_regular(prefix); }

// The value of a text-format string field: "..." with C escapes.
std::string unquote(const std::string& text, const std::string& what) {
  if (text.size() < 2 || (text.front() != '"' && text.front() != '\'') || text.back() != text.front()) {
    throw Error(what + ": expected a quoted string, found " + text.substr(0, 80));
  }
  std::string out;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 2 >= text.size()) throw Error(what + ": a string ends in a backslash");
    c = text[++i];
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '\\':
      case '"':
      case '\'': out += c; break;
      case 'x': {
        int value = 0, digits = 0;
        while (digits < 2 && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1]))) {
          value = value * 16 + std::stoi(std::string(1, text[++i]), nullptr, 16);
          ++digits;
        }
        if (digits == 0) throw Error(what + ": \\x without hex digits");
        out += static_cast<char>(value);
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int value = c - '0', digits = 1;
          while (digits < 3 && i + 2 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '7') {
            value = value * 8 + (text[++i] - '0');
            ++digits;
          }
          out += static_cast<char>(value & 0xff);
        } else {
          throw Error(what + ": unknown escape \\" + std::string(1, c));
        }
    }
  }
  return out;
}

// model_checkpoint_path of a `checkpoint` state file.
std::string latest_of_state_file(const std::string& file) {
  const std::string what = "TensorFlow checkpoint state '" + file + "'";
  if (regular_file_size(file) > kMaxStateFileBytes) {
    throw Error(what + ": larger than " + std::to_string(kMaxStateFileBytes) + " bytes; not a checkpoint state file");
  }
  const std::vector<std::byte> bytes = read_file(file);
  const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::string latest;
  std::size_t begin = 0, line_number = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    ++line_number;
    const std::size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const std::size_t last = line.find_last_not_of(" \t\r");
    line = line.substr(first, last - first + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) {
      throw Error(what + ", line " + std::to_string(line_number) + ": expected 'field: value', found " +
                  line.substr(0, 80));
    }
    const std::string field = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (field == "model_checkpoint_path") latest = unquote(value, what + ", line " + std::to_string(line_number));
  }
  if (latest.empty()) throw Error(what + ": no model_checkpoint_path (the latest checkpoint)");
  return latest;
}

// Where a path recorded in a state file in `dir` is: the path itself when relative and inside
// `dir`, else (writers record paths relative to where they ran) its last component in `dir`.
std::string recorded_prefix(const std::string& dir, const std::string& recorded, const std::string& state_file,
                            std::string& resolution) {
  const fs::path p(recorded);
  const bool inside = p.is_relative() && std::none_of(p.begin(), p.end(), [](const fs::path& c) { return c == ".."; });
  std::vector<std::string> tried;
  if (inside) {
    std::string direct = (fs::path(dir) / p).string();
    if (exists_at(direct)) {
      resolution = "the latest checkpoint, per '" + state_file + "'";
      return direct;
    }
    tried.push_back(direct);
  }
  const std::string name = p.filename().string();
  std::string local = (fs::path(dir) / name).string();
  if (!name.empty() && name != "." && name != ".." && exists_at(local)) {
    resolution = "the latest checkpoint, per '" + state_file + "', which records it as '" + recorded + "'; found as '" +
                 name + "' beside it";
    return local;
  }
  tried.push_back(local);
  std::string list;
  for (const std::string& t : tried) list += (list.empty() ? "'" : ", '") + t + "'";
  throw Error("TensorFlow checkpoint state '" + state_file + "' names '" + recorded +
              "' as the latest checkpoint, but it is not there (tried " + list + ")" +
              (inside ? "" : "; a path outside the folder is only looked for in it"));
}

}  // namespace

void resolve_tf_checkpoint_path(const std::string& path, TfCheckpoint::State& state) {
  state.format = TfCheckpointFormat::bundle;
  if (is_directory(path)) {
    const std::string state_file = (fs::path(path) / "checkpoint").string();
    if (is_regular(state_file)) {
      state.prefix = recorded_prefix(path, latest_of_state_file(state_file), state_file, state.resolution);
    } else if (is_regular((fs::path(path) / "variables" / "variables.index").string())) {
      state.prefix = (fs::path(path) / "variables" / "variables").string();
      state.resolution = "the variables of the SavedModel '" + path + "'";
    } else {
      std::vector<std::string> indexes;
      std::error_code ec;
      for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
        if (e.is_regular_file(ec) && e.path().filename().string().ends_with(".index")) {
          indexes.push_back(e.path().string());
        }
      }
      std::sort(indexes.begin(), indexes.end());
      if (const std::vector<std::string> v1 = v1_files_in(path); indexes.empty() && v1.size() == 1) {
        state.prefix = v1[0];
        state.format = TfCheckpointFormat::v1;
        state.resolution = "the one V1 checkpoint in '" + path + "'";
        return;
      }
      if (indexes.size() != 1) {
        std::string list;
        for (const std::string& i : indexes) list += (list.empty() ? "" : ", ") + i;
        throw Error("'" + path + "': a folder with " +
                    (indexes.empty() ? std::string("no TensorFlow checkpoint (no 'checkpoint' state file, no "
                                                   "variables/ of a SavedModel, no .index file)")
                                     : std::to_string(indexes.size()) +
                                           " checkpoints and no 'checkpoint' state "
                                           "file to say the latest: name one of " +
                                           list));
      }
      state.prefix = indexes[0].substr(0, indexes[0].size() - 6);
      state.resolution = "the one checkpoint in '" + path + "'";
    }
  } else if (path.ends_with(".index") && is_regular(path)) {
    state.prefix = path.substr(0, path.size() - 6);
  } else if (std::smatch m; std::regex_match(path, m, std::regex(R"((.*)\.data-[0-9]{5,}-of-[0-9]{5,})")) &&
                            is_regular(m[1].str() + ".index")) {
    state.prefix = m[1].str();
    state.resolution = "the checkpoint whose data shard '" + path + "' is";
  } else if (path.ends_with(".meta") && is_regular(path.substr(0, path.size() - 5) + ".index")) {
    state.prefix = path.substr(0, path.size() - 5);
    state.resolution = "the variables beside the graph '" + path + "' (a .meta file holds the graph, not the weights)";
  } else if (is_regular(path + ".index")) {
    state.prefix = path;
  } else if (is_regular(path)) {
    state.prefix = path;
    state.format = TfCheckpointFormat::v1;
  } else {
    throw Error("'" + path + "': no TensorFlow checkpoint there (neither a file, nor a prefix with '" + path +
                ".index', nor a folder)");
  }
  if (state.format == TfCheckpointFormat::bundle && !is_regular(state.prefix + ".index") && is_regular(state.prefix)) {
    state.format = TfCheckpointFormat::v1;  // a V1 file named by a state file
  }
}

bool looks_like_tf_checkpoint(const std::string& path) {
  if (is_directory(path)) {
    if (is_regular((fs::path(path) / "checkpoint").string()) ||
        is_regular((fs::path(path) / "variables" / "variables.index").string())) {
      return true;
    }
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
      if (e.path().filename().string().ends_with(".index")) return true;
    }
    return v1_files_in(path).size() == 1;
  }
  if (path.ends_with(".index") || path.ends_with(".meta") ||
      std::regex_search(path, std::regex(R"(\.data-[0-9]+-of-[0-9]+$)")))
    return true;
  if (is_regular(path + ".index")) return true;
  return ends_in_table_footer(path);
}

}  // namespace rnnkit
