// Checked HDF5 reading; see hdf5_file.h.
#include "hdf5_file.h"

#include <H5PLpublic.h>

#include <algorithm>
#include <atomic>
#include <limits>

#include "rnnkit/core/atomic_file.h"
#include "rnnkit/core/error.h"

namespace rnnkit::detail {
namespace {

// Refuses to follow any external link (HDF5 calls this before opening the other file).
herr_t refuse_external_link(const char*, const char*, const char*, const char*, unsigned*, hid_t, void*) { return -1; }

// A link access property list that cannot cross into another file.
Hdf5Handle in_file_link_access(hid_t property_class) {
  Hdf5Handle list(H5Pcreate(property_class), H5Pclose);
  if (!list.valid() || H5Pset_elink_cb(list.get(), refuse_external_link, nullptr) < 0) {
    throw Error("HDF5: cannot create a link access property list");
  }
  return list;
}

bool is_built_in_filter(H5Z_filter_t id) {
  return id == H5Z_FILTER_DEFLATE || id == H5Z_FILTER_SHUFFLE || id == H5Z_FILTER_FLETCHER32 || id == H5Z_FILTER_SZIP ||
         id == H5Z_FILTER_NBIT || id == H5Z_FILTER_SCALEOFFSET;
}

std::string join(const std::vector<std::string>& parts, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += (i ? "/" : "") + parts[i];
  return out;
}

}  // namespace

QuietHdf5::QuietHdf5() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  H5PLset_loading_state(0);  // no filter plugin is ever loaded: a weights file gets built-in filters only
}

QuietHdf5::~QuietHdf5() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

Hdf5File::Hdf5File(const std::string& path, std::string where)
    : where_(std::move(where)),
      file_size_(regular_file_size(path)),
      declared_budget_(file_size_ + kHdf5DeclaredAllowance),
      file_(open(path, where_), H5Fclose) {}

Hdf5File::Hdf5File(std::span<const std::byte> image, std::string where)
    : where_(std::move(where)),
      file_size_(image.size()),
      declared_budget_(file_size_ + kHdf5DeclaredAllowance),
      file_(open_image(image, where_), H5Fclose) {}

hid_t Hdf5File::open_image(std::span<const std::byte> image, const std::string& where) {
  const std::string refused = where + ": not an HDF5 file (or cannot be read)";
  if (image.empty()) throw Error(refused);
  const Hdf5Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fclose_degree(access.get(), H5F_CLOSE_STRONG);
  // The core driver without a backing store, from a copy of the image (HDF5 copies it: the
  // pointer is not kept, nor written through).
  if (H5Pset_fapl_core(access.get(), std::size_t{1} << 16, 0) < 0 ||
      H5Pset_file_image(access.get(), const_cast<std::byte*>(image.data()), image.size()) < 0) {
    throw Error(refused);
  }
  // HDF5 opens the name it is given to refuse one that exists, and tells open files apart by
  // name: a path below /dev/null can never be opened, and the counter keeps names apart.
  static std::atomic<uint64_t> images{0};
  const std::string name = "/dev/null/rnnkit-hdf5-image-" + std::to_string(images++);
  const hid_t id = H5Fopen(name.c_str(), H5F_ACC_RDONLY, access.get());
  if (id < 0) throw Error(refused);
  return id;
}

hid_t Hdf5File::open(const std::string& path, const std::string& where) {
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(where + ": not an HDF5 file (or cannot be read)");
  // Closing the file closes every object still open in it: nothing outlives an Error.
  const Hdf5Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fclose_degree(access.get(), H5F_CLOSE_STRONG);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, access.get());
  if (id < 0) throw Error(where + ": cannot open");
  return id;
}

bool Hdf5File::exists(hid_t base, const std::string& path) const {
  std::vector<std::string> parts;
  for (std::size_t begin = 0; begin <= path.size();) {
    const std::size_t end = std::min(path.find('/', begin), path.size());
    if (end > begin) parts.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  const Hdf5Handle links = in_file_link_access(H5P_LINK_ACCESS);
  const hid_t from = path.starts_with("/") ? file_.get() : base;  // absolute: from the root
  for (std::size_t n = 1; n <= parts.size(); ++n) {
    const std::string prefix = join(parts, n);
    if (H5Lexists(from, prefix.c_str(), links.get()) <= 0) return false;
    H5L_info_t info{};
    if (H5Lget_info(from, prefix.c_str(), &info, links.get()) < 0) return false;
    if (info.type == H5L_TYPE_EXTERNAL) {
      throw Error(where_ + ": '" + prefix + "' is an external link to another file; rnnkit reads only data the " +
                  "file holds itself");
    }
    if (info.type != H5L_TYPE_HARD && info.type != H5L_TYPE_SOFT) {
      throw Error(where_ + ": '" + prefix + "' is a user-defined link; rnnkit follows only links inside the file");
    }
  }
  return true;
}

Hdf5Handle Hdf5File::open_group(hid_t base, const std::string& path, const std::string& what) const {
  if (!exists(base, path)) throw Error(what + " has no group");
  const Hdf5Handle links = in_file_link_access(H5P_GROUP_ACCESS);
  Hdf5Handle group(H5Gopen2(base, path.c_str(), links.get()), H5Gclose);
  if (!group.valid()) throw Error(what + " is not a group");
  return group;
}

Hdf5Dataset Hdf5File::read_dataset(hid_t base, const std::string& path, const std::string& where) {
  const std::string what = where + ": '" + path + "'";
  if (!exists(base, path)) throw Error(where + ": no dataset '" + path + "'");
  const Hdf5Handle access = in_file_link_access(H5P_DATASET_ACCESS);
  const Hdf5Handle set(H5Dopen2(base, path.c_str(), access.get()), H5Dclose);
  if (!set.valid()) throw Error(what + " is not a dataset");

  // Where the data lives: in this file, through built-in filters only.
  const Hdf5Handle create(H5Dget_create_plist(set.get()), H5Pclose);
  if (H5Pget_layout(create.get()) == H5D_VIRTUAL) {
    throw Error(what + " is a virtual dataset (mapped from other files); rnnkit reads only data the file holds itself");
  }
  if (H5Pget_external_count(create.get()) > 0) {
    throw Error(what + " keeps its data in external files; rnnkit reads only data the file holds itself");
  }
  const int filters = H5Pget_nfilters(create.get());
  for (int k = 0; k < filters; ++k) {
    unsigned flags = 0, config = 0;
    std::size_t values = 0;
    const H5Z_filter_t id =
        H5Pget_filter2(create.get(), static_cast<unsigned>(k), &flags, &values, nullptr, 0, nullptr, &config);
    if (!is_built_in_filter(id)) {
      throw Error(what + " is encoded with filter " + std::to_string(id) +
                  ", not one built into HDF5 (deflate, shuffle, fletcher32, szip, nbit, scaleoffset); rnnkit loads " +
                  "no filter plugins");
    }
  }

  const Hdf5Handle type(H5Dget_type(set.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_FLOAT) throw Error(what + " is not floating-point");
  const std::size_t type_size = H5Tget_size(type.get());
  const Hdf5Handle space(H5Dget_space(set.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1 || rank > 2) throw Error(what + " has rank " + std::to_string(rank) + ", expected 1 or 2");
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  Shape shape;
  for (int d = 0; d < rank; ++d) {
    if (dims[d] > static_cast<hsize_t>(std::numeric_limits<int32_t>::max())) {
      throw Error(what + " declares extent " + std::to_string(dims[d]) + ", more than rnnkit reads");
    }
    shape.push_back(static_cast<int64_t>(dims[d]));
  }
  const auto count = static_cast<uint64_t>(shape_numel(shape, "dataset"));  // <= 2^62
  if (type_size == 0 || count > std::numeric_limits<uint64_t>::max() / type_size) {
    throw Error(what + " declares " + shape_to_string(shape) + " values of " + std::to_string(type_size) +
                " bytes, more than any file holds");
  }
  const uint64_t declared = count * type_size;

  // The claim against what backs it, before allocating.
  const uint64_t stored = H5Dget_storage_size(set.get());
  if (count > 0 && stored == 0) {
    throw Error(what + " declares " + shape_to_string(shape) + " values but stores none (only fill values)");
  }
  if (filters == 0 && stored < declared) {
    throw Error(what + " declares " + shape_to_string(shape) + " values (" + std::to_string(declared) +
                " bytes) but stores " + std::to_string(stored) + " bytes");
  }
  if (declared > declared_budget_) {
    throw Error(what + " declares " + shape_to_string(shape) + " values (" + std::to_string(declared) +
                " bytes), which with the datasets read before it exceeds the file's " + std::to_string(file_size_) +
                " bytes + " + std::to_string(kHdf5DeclaredAllowance >> 20) + " MiB");
  }
  declared_budget_ -= declared;

  Hdf5Dataset out{Tensor<double>(shape), type_size == 8};
  if (count > 0 &&
      H5Dread(set.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.storage().data()) < 0) {
    throw Error(what + ": cannot read (corrupt data or a filter that failed)");
  }
  return out;
}

std::vector<std::string> Hdf5File::read_strings(hid_t object, const char* name, const std::string& where) const {
  if (H5Aexists(object, name) <= 0) throw Error(where + ": no attribute '" + name + "'");
  const Hdf5Handle attr(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  const Hdf5Handle type(H5Aget_type(attr.get()), H5Tclose);
  const Hdf5Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (!attr.valid() || !type.valid() || !space.valid()) throw Error(where + ": cannot open attribute '" + name + "'");
  if (H5Tget_class(type.get()) != H5T_STRING) throw Error(where + ": attribute '" + name + "' does not hold strings");
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  std::vector<std::string> out;
  if (count <= 0) return out;
  // An attribute lives in its object's header: its size is bounded by what HDF5 stores there
  // (64 KiB compact, or dense storage in the file); the claim is checked against that storage.
  const std::size_t size = H5Tget_size(type.get());
  const hsize_t stored = std::min<hsize_t>(H5Aget_storage_size(attr.get()), file_size_);
  if (H5Tis_variable_str(type.get()) <= 0 && static_cast<uint64_t>(count) > stored / std::max<std::size_t>(size, 1)) {
    throw Error(where + ": attribute '" + name + "' declares " + std::to_string(count) + " strings of " +
                std::to_string(size) + " bytes but stores " + std::to_string(stored) + " bytes");
  }
  if (H5Tis_variable_str(type.get()) > 0) {
    if (static_cast<uint64_t>(count) > stored) {
      throw Error(where + ": attribute '" + name + "' declares " + std::to_string(count) + " strings but stores " +
                  std::to_string(stored) + " bytes");
    }
    std::vector<char*> pointers(static_cast<std::size_t>(count), nullptr);
    const Hdf5Handle memtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memtype.get(), H5T_VARIABLE);
    if (H5Aread(attr.get(), memtype.get(), pointers.data()) < 0) throw Error(where + ": cannot read '" + name + "'");
    for (char* p : pointers) out.emplace_back(p == nullptr ? "" : p);
    H5Dvlen_reclaim(memtype.get(), space.get(), H5P_DEFAULT, pointers.data());
  } else {
    std::vector<char> buffer(size * static_cast<std::size_t>(count));
    if (H5Aread(attr.get(), type.get(), buffer.data()) < 0) throw Error(where + ": cannot read '" + name + "'");
    for (hssize_t i = 0; i < count; ++i) {
      const char* begin = buffer.data() + static_cast<std::size_t>(i) * size;
      out.emplace_back(begin, std::find(begin, begin + size, '\0'));
    }
  }
  return out;
}

}  // namespace rnnkit::detail
