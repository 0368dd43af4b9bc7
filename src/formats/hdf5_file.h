// Internal: HDF5 through its C API, for files from strangers. A weights file must hold its own
// data, so an Hdf5File refuses what would make libhdf5 reach outside the file or past the
// file's size:
//   - external links (a link naming another file), at any component of a path;
//   - datasets whose raw data lives in external files (H5Pset_external), virtual datasets
//     (mapped from other files), and filters other than HDF5's built-in ones (deflate,
//     shuffle, fletcher32, szip, nbit, scaleoffset); filter plugins are never loaded
//     (H5PLset_loading_state(0), whatever HDF5_PLUGIN_PATH says);
//   - a dataset that declares more data than it stores (no storage allocated: only fill
//     values) and, over the file, declared data that exceeds the file's size by more than
//     kHdf5DeclaredAllowance (compression that inflates far past the file is a bomb).
// Every refusal is an Error naming the file (through `where`), the object and the claim.
// HDF5's own error printing is off while an Hdf5File is open (library code never prints).
// An Hdf5File reads a file by its path, or an image of one in memory (HDF5's core driver, as the
// fuzz target does): the same checks either way, the image's size standing for the file's.
// libhdf5 itself is not hardened against hostile files; formats/keras_contents.h runs it in a
// separate process.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "rnnkit/core/tensor.h"

namespace rnnkit::detail {

inline constexpr uint64_t kHdf5DeclaredAllowance = uint64_t{64} << 20;

// An HDF5 identifier closed by the given function.
class Hdf5Handle {
 public:
  Hdf5Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Hdf5Handle() {
    if (id_ >= 0) close_(id_);
  }
  Hdf5Handle(const Hdf5Handle&) = delete;
  Hdf5Handle& operator=(const Hdf5Handle&) = delete;
  Hdf5Handle(Hdf5Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Hdf5Handle& operator=(Hdf5Handle&&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// Silences HDF5's automatic error printing for its lifetime, and turns plugin loading off.
class QuietHdf5 {
 public:
  QuietHdf5();
  ~QuietHdf5();
  QuietHdf5(const QuietHdf5&) = delete;
  QuietHdf5& operator=(const QuietHdf5&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

struct Hdf5Dataset {
  Tensor<double> values;
  bool f64 = false;  // stored as 8-byte floats
};

// A file opened read-only for checked reading.
class Hdf5File {
 public:
  // Throws Error (`where` names the file) if it is not HDF5 or cannot be opened.
  Hdf5File(const std::string& path, std::string where);
  // The same from an image of a file in memory (copied by HDF5; no file is opened).
  Hdf5File(std::span<const std::byte> image, std::string where);

  hid_t id() const { return file_.get(); }
  const std::string& where() const { return where_; }

  // Whether `path` (relative to `base`) names an object, every component followed only
  // through hard or soft links inside the file; an external link is an Error.
  bool exists(hid_t base, const std::string& path) const;
  // Opens a group; Error if absent or reached through an external link.
  Hdf5Handle open_group(hid_t base, const std::string& path, const std::string& what) const;
  // A floating-point dataset of rank 1 or 2, checked as above, as float64 values. Counts
  // against the file's declared-data allowance.
  Hdf5Dataset read_dataset(hid_t base, const std::string& path, const std::string& what);
  // A string-array attribute of `object` (fixed or variable length, as h5py writes them); its
  // declared size may not exceed the file's.
  std::vector<std::string> read_strings(hid_t object, const char* name, const std::string& what) const;

 private:
  static hid_t open(const std::string& path, const std::string& where);
  static hid_t open_image(std::span<const std::byte> image, const std::string& where);

  QuietHdf5 quiet_;
  std::string where_;
  uint64_t file_size_ = 0;
  uint64_t declared_budget_ = 0;  // what the datasets still to be read may declare, in bytes
  Hdf5Handle file_;
};

}  // namespace rnnkit::detail
