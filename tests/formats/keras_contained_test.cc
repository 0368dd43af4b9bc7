// Keras files read with libhdf5 in a separate process: every fixture gives bit for bit what the
// reading in this process gives (weights and imported models, from a path or from memory),
// special values cross the pipe unchanged, errors are the same messages (the child's quoted,
// short and printable), a file that is not HDF5 is refused before any child starts, and the
// parent's decoder of what the child sends refuses every truncated or garbled result.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/frame_codec.h"
#include "formats/keras_contents.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/formats/keras.h"
#include "test_support.h"

namespace rnnkit::detail {
namespace {

using test::error_of;

const std::string kFixtures = std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/keras/";

std::vector<std::string> fixture_names() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures)) {
    if (entry.path().extension() == ".h5") out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Bit patterns, so that a NaN equals itself and -0.0 differs from 0.0.
template <class T>
std::vector<uint64_t> bits_of(std::span<const T> values) {
  std::vector<uint64_t> out;
  for (const T v : values) {
    if constexpr (sizeof(T) == 8) {
      out.push_back(std::bit_cast<uint64_t>(v));
    } else {
      out.push_back(std::bit_cast<uint32_t>(v));
    }
  }
  return out;
}

void expect_same_weights(const std::map<std::string, Tensor<double>>& a,
                         const std::map<std::string, Tensor<double>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    ASSERT_EQ(ia->first, ib->first);
    EXPECT_EQ(ia->second.shape(), ib->second.shape()) << ia->first;
    EXPECT_EQ(bits_of(std::span(ia->second.storage())), bits_of(std::span(ib->second.storage()))) << ia->first;
  }
}

void expect_same_models(const RecurrentModel& a, const RecurrentModel& b) {
  EXPECT_EQ(recurrent_model_json(a.scope, a.spec, a.options), recurrent_model_json(b.scope, b.spec, b.options));
  ASSERT_EQ(a.store.dtype(), b.store.dtype());
  ASSERT_EQ(a.store.variables().size(), b.store.variables().size());
  for (std::size_t i = 0; i < a.store.variables().size(); ++i) {
    const Variable& va = a.store.variables()[i];
    const Variable& vb = b.store.variables()[i];
    EXPECT_EQ(va.name, vb.name);
    EXPECT_EQ(va.shape, vb.shape) << va.name;
    EXPECT_EQ(va.source, vb.source) << va.name;
    if (a.store.dtype() == DType::f64) {
      EXPECT_EQ(bits_of(a.store.value<double>(va).span()), bits_of(b.store.value<double>(vb).span())) << va.name;
    } else {
      EXPECT_EQ(bits_of(a.store.value<float>(va).span()), bits_of(b.store.value<float>(vb).span())) << va.name;
    }
  }
}

TEST(KerasContained, EveryFixtureReadsTheSameInBothProcessesFromAPathOrFromMemory) {
  const std::vector<std::string> names = fixture_names();
  ASSERT_GE(names.size(), 8u);
  KerasImportOptions told_reset;
  told_reset.gru_reset = GruReset::after;  // what a GRU without biases needs; checked against a GRU's bias
  int imported = 0;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string path = kFixtures + name;
    const std::vector<std::byte> image = read_file(path);
    const std::map<std::string, Tensor<double>> here = read_keras_weights(path, path, Hdf5Process::this_one);
    ASSERT_FALSE(here.empty());
    expect_same_weights(rnnkit::read_keras_weights(path), here);
    expect_same_weights(read_keras_weights(std::span(image), path, Hdf5Process::separate), here);
    expect_same_weights(read_keras_weights(std::span(image), path, Hdf5Process::this_one), here);
    for (const KerasImportOptions& options : {KerasImportOptions{}, told_reset}) {
      const std::string error_here = error_of([&] { import_keras(path, path, options, Hdf5Process::this_one); });
      EXPECT_EQ(error_of([&] { rnnkit::import_keras(path, options); }), error_here);
      if (!error_here.empty()) continue;
      const RecurrentModel model = import_keras(path, path, options, Hdf5Process::this_one);
      expect_same_models(rnnkit::import_keras(path, options), model);
      expect_same_models(import_keras(std::span(image), path, options, Hdf5Process::separate), model);
      ++imported;
    }
  }
  EXPECT_GE(imported, 8);
}

// lstm.h5 with its kernel:0 replaced by `values` (dims kept) stored as `type`.
template <class T>
std::string lstm_with_kernel(const test::TempDir& dir, const std::vector<T>& values, hid_t type) {
  const std::string path = dir.file("special.h5");
  std::filesystem::copy_file(kFixtures + "lstm.h5", path, std::filesystem::copy_options::overwrite_existing);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t cell = H5Gopen2(file, "/lstm/lstm/lstm_cell", H5P_DEFAULT);
  EXPECT_GE(H5Ldelete(cell, "kernel:0", H5P_DEFAULT), 0);
  const hsize_t dims[2] = {3, 20};
  EXPECT_EQ(values.size(), 60u);
  const hid_t space = H5Screate_simple(2, dims, nullptr);
  const hid_t set = H5Dcreate2(cell, "kernel:0", type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  EXPECT_GE(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  H5Dclose(set);
  H5Sclose(space);
  H5Gclose(cell);
  H5Fclose(file);
  return path;
}

TEST(KerasContained, SpecialValuesCrossUnchanged) {
  test::TempDir dir;
  const std::vector<uint64_t> special = {
      0x7ff8000000000123,  // quiet NaN with a payload
      0xfff8000000000000,  // negative NaN
      0x7ff0000000000001,  // signalling NaN
      0x8000000000000000,  // -0.0
      0x7ff0000000000000,  // inf
      0xfff0000000000000,  // -inf
      0x0000000000000001,  // the smallest subnormal
      0x7fefffffffffffff,  // the largest finite
  };
  std::vector<double> values(60);
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = i < special.size() ? std::bit_cast<double>(special[i]) : 0.1 * static_cast<double>(i);
  }
  const std::string path = lstm_with_kernel(dir, values, H5T_IEEE_F64LE);
  const std::string kernel = "lstm/lstm/lstm_cell/kernel:0";
  const auto here = read_keras_weights(path, path, Hdf5Process::this_one);
  EXPECT_EQ(bits_of(std::span(here.at(kernel).storage())), bits_of(std::span<const double>(values)));
  expect_same_weights(rnnkit::read_keras_weights(path), here);

  // float32 NaNs, as HDF5 converts them to float64: the same in both processes.
  std::vector<float> narrow(60, -0.0f);
  narrow[0] = std::bit_cast<float>(uint32_t{0x7fc00123});
  narrow[1] = std::bit_cast<float>(uint32_t{0x7f800001});
  const std::string path32 = lstm_with_kernel(dir, narrow, H5T_IEEE_F32LE);
  expect_same_weights(rnnkit::read_keras_weights(path32), read_keras_weights(path32, path32, Hdf5Process::this_one));
}

TEST(KerasContained, ErrorsAreTheSameInBothProcesses) {
  test::TempDir dir;
  const std::vector<std::byte> lstm = read_file(kFixtures + "lstm.h5");
  std::vector<std::string> paths = {dir.path(), "/dev/null", dir.file("absent.h5")};
  std::ofstream(dir.file("text.h5")) << "not an HDF5 file\n";
  paths.push_back(dir.file("text.h5"));
  for (const std::size_t cut :
       {std::size_t{64}, std::size_t{800}, std::size_t{2100}, std::size_t{5000}, std::size_t{9000}, lstm.size() - 1}) {
    const std::string path = dir.file("cut-" + std::to_string(cut) + ".h5");
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(lstm.data()), static_cast<long>(cut));
    paths.push_back(path);
  }
  // Refused by this process (not a regular file, not HDF5) as in-process reading refuses it, or
  // by the child, whose message is passed on quoted.
  auto expect_same_or_quoted = [](const std::string& separate, const std::string& here, const std::string& path) {
    EXPECT_FALSE(here.empty());
    EXPECT_TRUE(separate == here || separate == child_message("keras file '" + path + "'", here))
        << separate << "\n vs in this process: " << here;
  };
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    const std::string here = error_of([&] { read_keras_weights(path, path, Hdf5Process::this_one); });
    expect_same_or_quoted(error_of([&] { rnnkit::read_keras_weights(path); }), here, path);
    expect_same_or_quoted(error_of([&] { rnnkit::import_keras(path); }),
                          error_of([&] { import_keras(path, path, {}, Hdf5Process::this_one); }), path);
  }
  const std::string text = error_of([&] { rnnkit::import_keras(dir.file("text.h5")); });
  EXPECT_EQ(text, "keras file '" + dir.file("text.h5") + "': not an HDF5 file (or cannot be read)");
  const std::string cut = error_of([&] { rnnkit::import_keras(dir.file("cut-64.h5")); });
  EXPECT_EQ(cut.find("keras file '" + dir.file("cut-64.h5") + "': reading it in a separate process: '"), 0u) << cut;
  KerasImportOptions absent;
  absent.layers = {"no_such_layer"};
  const std::string path = kFixtures + "lstm.h5";
  const std::string message = error_of([&] { rnnkit::import_keras(path, absent); });
  EXPECT_EQ(message, "keras file '" + path + "': no recurrent layer 'no_such_layer'; its recurrent layers are lstm");
  EXPECT_EQ(error_of([&] { import_keras(path, path, absent, Hdf5Process::this_one); }), message);
}

// Files keras_fuzz found on which libhdf5 1.10 itself goes wrong: it asks for 8 GiB, reads
// past a heap buffer (which AddressSanitizer reports; in other builds libhdf5 carries on, and at
// exit prints "HDF5: infinite loop closing library"), or copies from an address in the zero page
// (H5F__accum_read, under H5Lexists: a segmentation fault in every build). Read in the separate process, each is an
// Error naming the file, nothing else is printed, and this process never ran libhdf5 on them.
TEST(KerasContained, FilesOnWhichLibhdf5ItselfFailsAreErrorsNamingTheFile) {
  const std::string dir = std::string(RNNKIT_SOURCE_DIR) + "/tests/fixtures/keras-hostile/";
  for (const char* name :
       {"libhdf5_asks_for_8_gib.h5", "libhdf5_reads_past_a_heap_buffer.h5", "libhdf5_reads_from_the_zero_page.h5"}) {
    SCOPED_TRACE(name);
    const std::string path = dir + name;
    const std::string message = error_of([&] { rnnkit::import_keras(path); });
    EXPECT_EQ(message.find("keras file '" + path + "'"), 0u) << message;
    EXPECT_EQ(message.find(path, message.find(path) + 1), std::string::npos) << "the file is named once: " << message;
    const bool segfaults = std::string(name) == "libhdf5_reads_from_the_zero_page.h5";
    if (segfaults) {  // the child takes SIGSEGV at its default action, sanitizer or not
      EXPECT_NE(message.find(": libhdf5 (the HDF5 reader), run in a separate process limited to "), std::string::npos)
          << message;
      EXPECT_NE(message.find("was killed by signal 11 (Segmentation fault)"), std::string::npos) << message;
    } else if (built_with_address_sanitizer()) {
      EXPECT_NE(message.find(": libhdf5 (the HDF5 reader), run in a separate process limited to "), std::string::npos)
          << message;
      EXPECT_NE(message.find("AddressSanitizer"), std::string::npos) << message;
    }
    const auto r = test::run_cli("import --from keras " + path + " -o /dev/null/never.safetensors");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_EQ(r.output.find("rnnkit: error: keras file '" + path + "'"), 0u) << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
}

// A file whose one layer name carries terminal escapes and runs past 4 KiB: the child's message
// about it reaches the caller cut to 4 KiB, printable, quoted and attributed to the child.
TEST(KerasContained, TheChildsMessagesArePassedOnQuotedShortAndPrintable) {
  test::TempDir dir;
  const std::string path = dir.file("escapes.h5");
  const std::string name = "\x1b]0;owned\x07\x1b[31m" + std::string(5000, 'x');
  {
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(file, 0);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, name.size());
    const hsize_t one = 1;
    const hid_t space = H5Screate_simple(1, &one, nullptr);
    const hid_t attr = H5Acreate2(file, "layer_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(attr, 0);
    ASSERT_GE(H5Awrite(attr, type, name.data()), 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(file);
  }
  const std::string where = "keras file '" + path + "'";
  const std::string here = error_of([&] { read_keras_weights(path, path, Hdf5Process::this_one); });
  ASSERT_NE(here.find(name), std::string::npos) << "in this process, the file's name as it is";
  for (const std::string& message :
       {error_of([&] { rnnkit::read_keras_weights(path); }), error_of([&] { rnnkit::import_keras(path); })}) {
    EXPECT_EQ(message.find(where + ": reading it in a separate process: 'layer '?]0;owned??[31mxxx"), 0u) << message;
    EXPECT_TRUE(std::all_of(message.begin(), message.end(), [](char c) { return c >= 0x20 && c < 0x7f; }));
    EXPECT_LE(message.size(), where.size() + 40 + kChildMessageBytes);
    EXPECT_EQ(message.substr(message.size() - 5), "x...'");
  }
}

// A sparse file of 50 GB: not HDF5, it is refused before any child starts; with HDF5's
// signature, the child refuses it, and this process never makes room for 2 x 50 GB of output.
TEST(KerasContained, AHugeFileIsRefusedWithoutMakingRoomForIt) {
  test::TempDir dir;
  const uint64_t size = uint64_t{50} << 30;
  const std::string plain = dir.file("plain.h5"), signed_ = dir.file("signed.h5");
  for (const std::string& path : {plain, signed_}) {
    const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    if (path == signed_) {
      ASSERT_EQ(write(fd, "\x89HDF\r\n\x1a\n", 8), 8);
    }
    const bool sparse = ftruncate(fd, static_cast<off_t>(size)) == 0;
    close(fd);
    if (!sparse) GTEST_SKIP() << "no sparse file of 50 GB here";
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of([&] { rnnkit::import_keras(plain); }),
            "keras file '" + plain + "': not an HDF5 file (or cannot be read)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  const std::string message = error_of([&] { rnnkit::read_keras_weights(signed_); });
  EXPECT_EQ(message.find("keras file '" + signed_ + "': "), 0u) << message;
  EXPECT_EQ(message.find("out of memory"), std::string::npos) << message;
}

TEST(KerasContained, TheReaderIsLimitedByTheFileSize) {
  const ContainmentLimits small = keras_reader_limits(40000);
  EXPECT_EQ(small.memory_bytes, 16 * (40000 + kHdf5DeclaredAllowance));
  EXPECT_EQ(small.cpu_seconds, 30);
  EXPECT_EQ(small.wall_seconds, 90);
  EXPECT_EQ(small.max_output_bytes, 8 * (40000 + kHdf5DeclaredAllowance) + 64 * 40000 + (1 << 20));
  const ContainmentLimits large = keras_reader_limits(uint64_t{800} << 20);  // 800 MiB
  EXPECT_EQ(large.cpu_seconds, 130);
  EXPECT_EQ(large.wall_seconds, 390);
  EXPECT_GT(keras_reader_limits(~uint64_t{0}).memory_bytes, large.memory_bytes);  // no overflow
}

// --- What the child sends, decoded by the parent ----------------------------------------

KerasContents lstm_contents() {
  const std::string path = kFixtures + "lstm.h5";
  return read_keras_contents(
      path, "keras file 'x'",
      [](const std::vector<KerasLayerNames>& layers) {
        std::vector<KerasDatasetRequest> out;
        for (const std::string& w : layers.at(0).weight_names) out.push_back({layers[0].name, w, "at"});
        return out;
      },
      Hdf5Process::this_one);
}

void expect_same_contents(const KerasContents& a, const KerasContents& b) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) {
    EXPECT_EQ(a.layers[i].name, b.layers[i].name);
    EXPECT_EQ(a.layers[i].weight_names, b.layers[i].weight_names);
    EXPECT_EQ(a.layers[i].error, b.layers[i].error);
  }
  ASSERT_EQ(a.datasets.size(), b.datasets.size());
  for (std::size_t i = 0; i < a.datasets.size(); ++i) {
    EXPECT_EQ(a.datasets[i].layer, b.datasets[i].layer);
    EXPECT_EQ(a.datasets[i].weight, b.datasets[i].weight);
    EXPECT_EQ(a.datasets[i].dataset.f64, b.datasets[i].dataset.f64);
    EXPECT_EQ(a.datasets[i].dataset.values.shape(), b.datasets[i].dataset.values.shape());
    EXPECT_EQ(bits_of(std::span(a.datasets[i].dataset.values.storage())),
              bits_of(std::span(b.datasets[i].dataset.values.storage())));
  }
  EXPECT_EQ(a.stopped_by, b.stopped_by);
}

TEST(KerasContentsCodec, RoundTripsAndRefusesEveryTruncation) {
  KerasContents contents = lstm_contents();
  ASSERT_EQ(contents.datasets.size(), 3u);
  const std::vector<std::byte> bytes = encode_keras_contents(contents);
  expect_same_contents(decode_keras_contents(bytes, "keras file 'x'", 0), contents);
  contents.layers.push_back({"dense", {}, "keras file 'x': layer 'dense' is listed but has no group"});
  contents.datasets.pop_back();
  contents.stopped_by = "keras file 'x': 'bias:0' declares too much";
  expect_same_contents(decode_keras_contents(encode_keras_contents(contents), "keras file 'x'", 0), contents);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::string message =
        error_of([&] { decode_keras_contents(std::span(bytes).first(cut), "keras file 'x'", 0); });
    EXPECT_EQ(message.find("keras file 'x': the HDF5 reader's result"), 0u) << "cut at " << cut << ": " << message;
  }
  EXPECT_NE(error_of([&] {
              std::vector<std::byte> longer = bytes;
              longer.push_back(std::byte{0});
              decode_keras_contents(longer, "w", 0);
            }).find("1 bytes follow the end frame"),
            std::string::npos);
}

// A result made of frames, with a dataset frame built from its fields.
std::vector<std::byte> frames(const std::vector<std::pair<uint8_t, std::vector<std::byte>>>& list) {
  ByteWriter w;
  for (const auto& [kind, payload] : list) {
    w.frame_header(kind, payload.size());
    w.raw(payload);
  }
  return w.bytes;
}

std::vector<std::byte> no_layers() {
  ByteWriter w;
  w.u64(0);
  return w.bytes;
}

std::vector<std::byte> dataset(uint8_t f64, std::vector<uint64_t> dims, std::size_t value_bytes) {
  ByteWriter w;
  w.string("lstm");
  w.string("kernel:0");
  w.u8(f64);
  w.u64(dims.size());
  for (const uint64_t d : dims) w.u64(d);
  w.raw(std::vector<std::byte>(value_bytes));
  return w.bytes;
}

std::string decode_error(const std::vector<std::byte>& bytes) {
  return error_of([&] { decode_keras_contents(bytes, "w", 0); });
}

TEST(KerasContentsCodec, GarbledResultsAreRefusedNamingTheField) {
  const auto end = std::pair<uint8_t, std::vector<std::byte>>{'Z', {}};
  const auto layers = std::pair<uint8_t, std::vector<std::byte>>{'L', no_layers()};
  EXPECT_EQ(decode_keras_contents(frames({layers, {'D', dataset(1, {2, 3}, 48)}, end}), "w", 0).datasets.size(), 1u);
  EXPECT_EQ(decode_error(frames({end})), "w: the HDF5 reader's result: begins with a frame of kind 90");
  EXPECT_EQ(decode_error(frames({layers, {'D', dataset(2, {2, 3}, 48)}, end})),
            "w: the HDF5 reader's result, a dataset 'kernel:0': type flag 2, expected 0 or 1");
  EXPECT_EQ(decode_error(frames({layers, {'D', dataset(1, {2, 3, 4}, 192)}, end})),
            "w: the HDF5 reader's result, a dataset 'kernel:0': rank 3, expected 1 or 2");
  EXPECT_EQ(decode_error(frames({layers, {'D', dataset(1, {}, 8)}, end})),
            "w: the HDF5 reader's result, a dataset 'kernel:0': rank 0, expected 1 or 2");
  EXPECT_EQ(decode_error(frames({layers, {'D', dataset(1, {uint64_t{1} << 31, 1}, 8)}, end})),
            "w: the HDF5 reader's result, a dataset 'kernel:0': extent 2147483648");
  // Values that do not match the extents, short or long, and a product near 2^62.
  EXPECT_EQ(decode_error(frames({layers, {'D', dataset(1, {2, 3}, 40)}, end})),
            "w: the HDF5 reader's result, a dataset 'kernel:0': [2,3] values need 6 x 8 bytes, but 40 remain");
  EXPECT_NE(decode_error(frames({layers, {'D', dataset(1, {2, 3}, 56)}, end})).find("but 56 remain"),
            std::string::npos);
  EXPECT_NE(
      decode_error(frames({layers, {'D', dataset(0, {(uint64_t{1} << 31) - 1, (uint64_t{1} << 31) - 1}, 8)}, end}))
          .find("values need 4611686014132420609 x 8 bytes, but 8 remain"),
      std::string::npos);
  ByteWriter huge_count;
  huge_count.u64(uint64_t{1} << 60);
  EXPECT_EQ(decode_error(frames({{'L', huge_count.bytes}, end})),
            "w: the HDF5 reader's result, layers: the number of layers claims 1152921504606846976 items of at least 24 "
            "bytes, but 0 bytes remain");
  ByteWriter stopped;
  stopped.string("keras file: no");
  EXPECT_EQ(decode_error(frames({layers, {'S', stopped.bytes}, {'D', dataset(1, {1}, 8)}, end})),
            "w: the HDF5 reader's result: a dataset follows the error that stopped reading");
  EXPECT_EQ(decode_error(frames({layers, {'S', stopped.bytes}, {'S', stopped.bytes}, end})),
            "w: the HDF5 reader's result: says twice where reading stopped");
  EXPECT_EQ(decode_error(frames({layers, {'Q', {}}, end})), "w: the HDF5 reader's result: a frame of unknown kind 81");
  // Messages of at most 4 KiB, in the stop frame and in a layer's error.
  ByteWriter long_stop;
  long_stop.string(std::string(kChildMessageBytes + 1, 'x'));
  EXPECT_EQ(decode_error(frames({layers, {'S', long_stop.bytes}, end})),
            "w: the HDF5 reader's result, the stopping error: the message has 4097 bytes, more than the 4096 a message "
            "may have");
  ByteWriter just_fits;
  just_fits.string(std::string(kChildMessageBytes, 'x'));
  EXPECT_EQ(decode_keras_contents(frames({layers, {'S', just_fits.bytes}, end}), "w", 0).stopped_by.size(),
            kChildMessageBytes);
  ByteWriter long_layer_error;
  long_layer_error.u64(1);
  long_layer_error.string("lstm");
  long_layer_error.string(std::string(kChildMessageBytes + 1, 'x'));
  long_layer_error.u64(0);
  EXPECT_EQ(
      decode_error(frames({{'L', long_layer_error.bytes}, end})),
      "w: the HDF5 reader's result, layers: a layer's error has 4097 bytes, more than the 4096 a message may have");
  EXPECT_EQ(decode_error(frames({layers})), "w: the HDF5 reader's result: a frame claims 1 bytes, but 0 remain");
}

// The datasets may declare what Hdf5File allows the file (its size + 64 MiB), counted as 8 bytes
// a value for float64 data and at least 1 for other floats, over all of them.
TEST(KerasContentsCodec, DeclaredDataPastWhatTheReaderAllowsIsRefused) {
  const auto end = std::pair<uint8_t, std::vector<std::byte>>{'Z', {}};
  const auto layers = std::pair<uint8_t, std::vector<std::byte>>{'L', no_layers()};
  const uint64_t half = kHdf5DeclaredAllowance / 16;  // values of a dataset of 32 MiB as float64
  const auto f64_half = std::pair<uint8_t, std::vector<std::byte>>{'D', dataset(1, {half, 1}, half * 8)};
  EXPECT_EQ(decode_keras_contents(frames({layers, f64_half, f64_half, end}), "w", 0).datasets.size(), 2u);
  const auto one_more = std::pair<uint8_t, std::vector<std::byte>>{'D', dataset(1, {1}, 8)};
  EXPECT_EQ(decode_error(frames({layers, f64_half, f64_half, one_more, end})),
            "w: the HDF5 reader's result, a dataset 'kernel:0': [1] values, which with the datasets before it declare "
            "at least 67108872 bytes, more than the file's 0 bytes + 64 MiB that the reader allows");
  EXPECT_EQ(decode_keras_contents(frames({layers, f64_half, f64_half, one_more, end}), "w", 8).datasets.size(), 3u);
  // Stored as float32 or narrower: at least a byte each.
  const auto f32 = std::pair<uint8_t, std::vector<std::byte>>{'D', dataset(0, {half, 1}, half * 8)};
  EXPECT_EQ(decode_keras_contents(frames({layers, f64_half, f64_half, f32, end}), "w", half).datasets.size(), 3u);
  EXPECT_NE(decode_error(frames({layers, f64_half, f64_half, f32, end})).find("more than the file's 0 bytes"),
            std::string::npos);
}

// What the child sends for read_keras_weights over a fixture, frames of both levels.
std::vector<std::byte> child_stream_of(const std::string& fixture) {
  const KerasContents contents = read_keras_contents(
      kFixtures + fixture, "keras file 'x'",
      [](const std::vector<KerasLayerNames>& layers) {
        std::vector<KerasDatasetRequest> out;
        for (const KerasLayerNames& l : layers) {
          for (const std::string& w : l.weight_names) out.push_back({l.name, w, "at"});
        }
        return out;
      },
      Hdf5Process::this_one);
  const std::vector<std::byte> output = encode_keras_contents(contents);
  ByteWriter stream;
  stream.frame_header('O', output.size());
  stream.raw(output);
  stream.frame_header('R', 0);
  return stream.bytes;
}

// The seeds of keras_frames_fuzz: to write them again (after a change of either format), run
// RNNKIT_WRITE_FUZZ_SEEDS=1 build/tests/rnnkit_tests --gtest_filter=KerasContentsCodec.FuzzSeeds*
TEST(KerasContentsCodec, FuzzSeedsAreWhatTheChildSendsForTheFixtures) {
  const std::string seeds = std::string(RNNKIT_SOURCE_DIR) + "/fuzz/corpus-keras-frames/";
  for (const std::string& name : fixture_names()) {
    SCOPED_TRACE(name);
    const std::vector<std::byte> stream = child_stream_of(name);
    const std::string seed = seeds + name.substr(0, name.size() - 3) + ".frames";
    if (std::getenv("RNNKIT_WRITE_FUZZ_SEEDS") != nullptr) write_file_atomically(seed, {std::span(stream)});
    EXPECT_EQ(read_file(seed), stream) << "write the seeds again (see above)";
  }
}

TEST(KerasContents, DatasetsAreTakenInThePlansOrderAndTheStopIsThrownWhereItHappened) {
  KerasContents contents = lstm_contents();
  const std::string first = contents.datasets[0].weight, second = contents.datasets[1].weight;
  EXPECT_EQ(error_of([&] { contents.take("lstm", second); }), "keras file 'x': the HDF5 reader sent dataset '" + first +
                                                                  "' of layer 'lstm' where '" + second +
                                                                  "' of layer 'lstm' was next");
  EXPECT_EQ(contents.take("lstm", first).values.shape(), (Shape{3, 20}));
  contents.datasets.resize(2);
  contents.stopped_by = "keras file 'x': the bias is bad";
  contents.take("lstm", second);
  EXPECT_EQ(error_of([&] { contents.take("lstm", "bias:0"); }), "keras file 'x': the bias is bad");
  contents.stopped_by.clear();
  EXPECT_EQ(error_of([&] { contents.take("lstm", "bias:0"); }),
            "keras file 'x': the HDF5 reader sent no dataset 'bias:0' of layer 'lstm'");
}

}  // namespace
}  // namespace rnnkit::detail
