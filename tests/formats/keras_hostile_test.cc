// Keras .h5 files that try to reach outside themselves or claim more than they hold: a real
// Keras-layout fixture with its LSTM kernel replaced (through HDF5's C API) by external
// storage, an external link, a virtual dataset, a plugin filter, a dataset without data or a
// compression bomb. Each is an Error naming the file and the object, and none reads a byte of
// the other file.
#include <H5PLpublic.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>

#include "formats/keras_contents.h"
#include "rnnkit/formats/keras.h"
#include "test_support.h"

namespace rnnkit {
namespace {

using test::error_of;

const std::string kCell = "/lstm/lstm/lstm_cell";  // the layer group, then the weight name's path

std::string fixture(const std::string& name) {
  return std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/keras/" + name;
}

// A copy of lstm.h5 at `path` whose kernel:0 is deleted and made again by `make(cell, dims)`.
void replace_kernel(const std::string& path, const std::function<void(hid_t, const hsize_t*)>& make) {
  std::filesystem::copy_file(fixture("lstm.h5"), path, std::filesystem::copy_options::overwrite_existing);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t cell = H5Gopen2(file, kCell.c_str(), H5P_DEFAULT);
  ASSERT_GE(cell, 0);
  const hid_t kernel = H5Dopen2(cell, "kernel:0", H5P_DEFAULT);
  ASSERT_GE(kernel, 0);
  hsize_t dims[2] = {0, 0};
  const hid_t space = H5Dget_space(kernel);
  H5Sget_simple_extent_dims(space, dims, nullptr);
  H5Sclose(space);
  H5Dclose(kernel);
  ASSERT_GE(H5Ldelete(cell, "kernel:0", H5P_DEFAULT), 0);
  make(cell, dims);
  H5Gclose(cell);
  H5Fclose(file);
}

// A small HDF5 file with a float dataset /data of `dims` (the other file a link points at).
void write_other_file(const std::string& path, const hsize_t* dims) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t set = H5Dcreate2(file, "data", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<float> values(dims[0] * dims[1], 42.0f);
  H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  H5Dclose(set);
  H5Sclose(space);
  H5Fclose(file);
}

// Refused with `fragment`, by libhdf5 in its separate process (the public functions: the
// child's message, quoted) and in this one alike.
void expect_refused(const std::string& path, const std::string& fragment) {
  const std::string where = "keras file '" + path + "'";
  const std::string message = error_of([&] { import_keras(path); });
  EXPECT_EQ(message.find(where + ": reading it in a separate process: '"), 0u) << message;
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
  EXPECT_EQ(detail::child_message(
                where, error_of([&] { detail::import_keras(path, path, {}, detail::Hdf5Process::this_one); })),
            message);
  const std::string weights = error_of([&] { read_keras_weights(path); });
  EXPECT_NE(weights.find(fragment), std::string::npos) << weights;
  EXPECT_EQ(detail::child_message(
                where, error_of([&] { detail::read_keras_weights(path, path, detail::Hdf5Process::this_one); })),
            weights);
}

TEST(KerasHostile, TheUntouchedFixtureImports) { EXPECT_EQ(import_keras(fixture("lstm.h5")).spec.num_layers, 1); }

TEST(KerasHostile, ExternalRawStorageIsRefused) {
  test::TempDir dir;
  const std::string secret = dir.file("secret.bin");
  std::ofstream(secret, std::ios::binary) << std::string(1 << 16, 's');
  replace_kernel(dir.file("external.h5"), [&](hid_t cell, const hsize_t* dims) {
    const hid_t create = H5Pcreate(H5P_DATASET_CREATE);
    ASSERT_GE(H5Pset_external(create, secret.c_str(), 0, dims[0] * dims[1] * 4), 0);
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t set = H5Dcreate2(cell, "kernel:0", H5T_IEEE_F32LE, space, H5P_DEFAULT, create, H5P_DEFAULT);
    ASSERT_GE(set, 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Pclose(create);
  });
  expect_refused(dir.file("external.h5"), "'lstm/lstm_cell/kernel:0' keeps its data in external files");
}

TEST(KerasHostile, ExternalLinksAreRefusedAtAnyComponent) {
  test::TempDir dir;
  hsize_t kernel_dims[2] = {0, 0};
  replace_kernel(dir.file("elink.h5"), [&](hid_t cell, const hsize_t* dims) {
    kernel_dims[0] = dims[0];
    kernel_dims[1] = dims[1];
    write_other_file(dir.file("other.h5"), dims);
    ASSERT_GE(H5Lcreate_external(dir.file("other.h5").c_str(), "/data", cell, "kernel:0", H5P_DEFAULT, H5P_DEFAULT), 0);
  });
  expect_refused(dir.file("elink.h5"), "'lstm/lstm_cell/kernel:0' is an external link to another file");

  // The cell's group itself a link into the other file.
  std::filesystem::copy_file(fixture("lstm.h5"), dir.file("glink.h5"));
  const hid_t file = H5Fopen(dir.file("glink.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(H5Ldelete(file, kCell.c_str(), H5P_DEFAULT), 0);
  ASSERT_GE(H5Lcreate_external(dir.file("other.h5").c_str(), "/", file, kCell.c_str(), H5P_DEFAULT, H5P_DEFAULT), 0);
  H5Fclose(file);
  expect_refused(dir.file("glink.h5"), "'lstm/lstm_cell' is an external link to another file");
}

TEST(KerasHostile, VirtualDatasetsAreRefused) {
  test::TempDir dir;
  replace_kernel(dir.file("virtual.h5"), [&](hid_t cell, const hsize_t* dims) {
    write_other_file(dir.file("other.h5"), dims);
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t create = H5Pcreate(H5P_DATASET_CREATE);
    ASSERT_GE(H5Pset_virtual(create, space, dir.file("other.h5").c_str(), "/data", space), 0);
    const hid_t set = H5Dcreate2(cell, "kernel:0", H5T_IEEE_F32LE, space, H5P_DEFAULT, create, H5P_DEFAULT);
    ASSERT_GE(set, 0);
    H5Dclose(set);
    H5Pclose(create);
    H5Sclose(space);
  });
  expect_refused(dir.file("virtual.h5"), "'lstm/lstm_cell/kernel:0' is a virtual dataset");
}

TEST(KerasHostile, FiltersThatAreNotBuiltInAreRefusedAndNoPluginIsLoaded) {
  test::TempDir dir;
  replace_kernel(dir.file("plugin.h5"), [&](hid_t cell, const hsize_t* dims) {
    const hid_t create = H5Pcreate(H5P_DATASET_CREATE);
    ASSERT_GE(H5Pset_chunk(create, 2, dims), 0);
    // 32001 is Blosc's registered id; optional, so HDF5 records it though it cannot apply it.
    ASSERT_GE(H5Pset_filter(create, 32001, H5Z_FLAG_OPTIONAL, 0, nullptr), 0);
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t set = H5Dcreate2(cell, "kernel:0", H5T_IEEE_F32LE, space, H5P_DEFAULT, create, H5P_DEFAULT);
    ASSERT_GE(set, 0);
    std::vector<float> values(dims[0] * dims[1], 1.0f);
    H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    H5Dclose(set);
    H5Sclose(space);
    H5Pclose(create);
  });
  expect_refused(dir.file("plugin.h5"), "'lstm/lstm_cell/kernel:0' is encoded with filter 32001, not one built into");
  // Plugin loading is off wherever libhdf5 reads a Keras file: in its separate process, which
  // cannot be seen from here, and in this one when the reading runs here.
  ASSERT_GE(H5PLset_loading_state(H5PL_ALL_PLUGIN), 0);  // on again (expect_refused read it here too)
  error_of([&] { detail::read_keras_weights(dir.file("plugin.h5"), "plugin.h5", detail::Hdf5Process::this_one); });
  unsigned mask = 1;
  ASSERT_GE(H5PLget_loading_state(&mask), 0);
  EXPECT_EQ(mask, 0u) << "reading a Keras file turns HDF5 plugin loading off";
}

TEST(KerasHostile, DeclaredDataTheFileCannotBackIsRefusedBeforeAllocating) {
  test::TempDir dir;
  // 20000 x 20000 float32 (1.6 GB) declared, chunked, never written: no storage at all.
  replace_kernel(dir.file("empty.h5"), [&](hid_t cell, const hsize_t*) {
    const hsize_t dims[2] = {20000, 20000}, chunk[2] = {100, 100};
    const hid_t create = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(create, 2, chunk);
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t set = H5Dcreate2(cell, "kernel:0", H5T_IEEE_F32LE, space, H5P_DEFAULT, create, H5P_DEFAULT);
    ASSERT_GE(set, 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Pclose(create);
  });
  ASSERT_LT(std::filesystem::file_size(dir.file("empty.h5")), 1u << 20);
  expect_refused(dir.file("empty.h5"), "'lstm/lstm_cell/kernel:0' declares [20000,20000] values but stores none");

  // 6000 x 6000 float32 zeros (144 MB) deflated into a file of a few hundred KB.
  replace_kernel(dir.file("bomb.h5"), [&](hid_t cell, const hsize_t*) {
    const hsize_t dims[2] = {6000, 6000}, chunk[2] = {1000, 1000};
    const hid_t create = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(create, 2, chunk);
    H5Pset_deflate(create, 9);
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t set = H5Dcreate2(cell, "kernel:0", H5T_IEEE_F32LE, space, H5P_DEFAULT, create, H5P_DEFAULT);
    ASSERT_GE(set, 0);
    const std::vector<float> zeros(dims[0] * dims[1], 0.0f);
    ASSERT_GE(H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data()), 0);
    H5Dclose(set);
    H5Sclose(space);
    H5Pclose(create);
  });
  const auto size = std::filesystem::file_size(dir.file("bomb.h5"));
  ASSERT_LT(size, 4u << 20);
  expect_refused(dir.file("bomb.h5"),
                 "'lstm/lstm_cell/kernel:0' declares [6000,6000] values (144000000 bytes), which "
                 "with the datasets read before it exceeds the file's " +
                     std::to_string(size) + " bytes + 64 MiB");
  // Through the command line: rnnkit's one line, nothing printed by libhdf5 after it.
  for (const char* file : {"bomb.h5", "empty.h5"}) {
    const auto r = test::run_cli("import --from keras " + dir.file(file) + " -o " + dir.file("out.safetensors"));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_EQ(r.output.find("rnnkit: error: keras file"), 0u) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("out.safetensors")));
  }
}

}  // namespace
}  // namespace rnnkit
