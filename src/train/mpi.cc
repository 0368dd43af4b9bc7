// MPI for data-parallel training; see train/mpi.h.
#include "rnnkit/train/mpi.h"

#include <cstdlib>
#include <string>

#include "rnnkit/core/error.h"

#if RNNKIT_HAVE_MPI
#include <mpi.h>
#endif

namespace rnnkit {
namespace {

int environment_int(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      char* end = nullptr;
      const long n = std::strtol(v, &end, 10);
      if (end != v && *end == '\0' && n >= 1) return static_cast<int>(n);
    }
  }
  return 1;
}

#if RNNKIT_HAVE_MPI

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<std::size_t>(length));
}

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) throw Error(std::string("MPI ") + what + " failed: " + mpi_error_text(code));
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_ = true;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiCommunicator() override {
    if (owns_) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float> values) override {
    check(
        MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
        "MPI_Allreduce");
  }
  void sum(std::span<double> values) override {
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
  }
  bool same_everywhere(uint64_t value) override {
    uint64_t range[2] = {value, ~value};  // max of value and of its complement: (max, ~min)
    check(MPI_Allreduce(MPI_IN_PLACE, range, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    return range[0] == ~range[1];
  }
  bool any(bool value) override {
    int v = value ? 1 : 0;
    check(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    return v != 0;
  }

 private:
  int rank_ = 0, size_ = 1;
  bool owns_ = false;
};

#endif

}  // namespace

bool mpi_built() { return RNNKIT_HAVE_MPI != 0; }

int launched_job_size() { return environment_int({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}); }

int launched_local_size() { return environment_int({"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"}); }

std::unique_ptr<Communicator> join_mpi_job() {
#if RNNKIT_HAVE_MPI
  return std::make_unique<MpiCommunicator>();
#else
  throw Error(
      "this rnnkit was built without MPI, so it cannot train across processes: install Open MPI "
      "(apt-get install libopenmpi-dev openmpi-bin) and rebuild (scripts/build.sh; CMake option "
      "RNNKIT_MPI=AUTO or ON)");
#endif
}

}  // namespace rnnkit
