#include "train/communicator.h"

#include <cstdlib>

#ifdef MBERT_WITH_MPI
#include <mpi.h>
#endif

namespace mbert {

namespace {

bool LaunchedByMpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

#ifdef MBERT_WITH_MPI
bool g_initialised_here = false;

Status MpiError(int code, const char* what) {
  char text[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(code, text, &n);
  return Status::Error(std::string("MPI ") + what + " failed: " + std::string(text, n));
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  Status AllReduceSum(std::span<double> v) override {
    const int rc = MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE,
                                 MPI_SUM, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? Status::Ok() : MpiError(rc, "Allreduce");
  }

  Status AllReduceSum(const std::vector<std::span<float>>& buffers) override {
    // Small tensors (norm weights, biases) are gathered into one bucket so that each message is
    // large enough to run at bandwidth; a large tensor is its own bucket, reduced in place.
    constexpr size_t kBucketFloats = size_t{1} << 20;  // 4 MiB
    struct Bucket {
      std::vector<float> staged;              // empty: in place
      std::vector<std::span<float>> members;  // staged tensors, in order
      std::span<float> in_place;
    };
    std::vector<Bucket> buckets;
    Bucket open;
    auto close = [&] {
      if (!open.members.empty()) buckets.push_back(std::move(open));
      open = Bucket();
    };
    for (const std::span<float>& b : buffers) {
      if (b.size() >= kBucketFloats) {
        Bucket big;
        big.in_place = b;
        buckets.push_back(std::move(big));
        continue;
      }
      if (open.staged.size() + b.size() > kBucketFloats) close();
      open.staged.insert(open.staged.end(), b.begin(), b.end());
      open.members.push_back(b);
    }
    close();
    std::vector<MPI_Request> requests(buckets.size());
    for (size_t i = 0; i < buckets.size(); ++i) {
      Bucket& k = buckets[i];
      float* data = k.members.empty() ? k.in_place.data() : k.staged.data();
      const size_t n = k.members.empty() ? k.in_place.size() : k.staged.size();
      const int rc = MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                                    MPI_COMM_WORLD, &requests[i]);
      if (rc != MPI_SUCCESS) return MpiError(rc, "Iallreduce");
    }
    const int rc =
        MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
    if (rc != MPI_SUCCESS) return MpiError(rc, "Waitall");
    for (Bucket& k : buckets) {
      size_t off = 0;
      for (const std::span<float>& m : k.members) {
        std::copy(k.staged.begin() + static_cast<std::ptrdiff_t>(off),
                  k.staged.begin() + static_cast<std::ptrdiff_t>(off + m.size()), m.begin());
        off += m.size();
      }
    }
    return Status::Ok();
  }

  Status Broadcast(std::span<uint8_t> bytes) override {
    const int rc =
        MPI_Bcast(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, 0, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? Status::Ok() : MpiError(rc, "Bcast");
  }

  Status Barrier() override {
    const int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? Status::Ok() : MpiError(rc, "Barrier");
  }

 private:
  int rank_ = 0, size_ = 1;
};
#endif

}  // namespace

bool MpiAvailable() {
#ifdef MBERT_WITH_MPI
  return true;
#else
  return false;
#endif
}

Status InitDistributedFromEnvironment(int* argc, char*** argv) {
  if (!LaunchedByMpi()) return Status::Ok();
#ifdef MBERT_WITH_MPI
  int done = 0;
  MPI_Initialized(&done);
  if (done) return Status::Ok();
  // Only the main thread calls MPI; OpenMP threads compute between the calls.
  int provided = 0;
  const int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  if (rc != MPI_SUCCESS) return MpiError(rc, "Init_thread");
  // Errors come back as codes (and become a Status) instead of aborting the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  g_initialised_here = true;
  return Status::Ok();
#else
  (void)argc;
  (void)argv;
  return Status::Error(
      "started by an MPI launcher, but this mbert was built without MPI: install libopenmpi-dev "
      "and rebuild (cmake finds it), or run without mpirun");
#endif
}

void FinalizeDistributed() {
#ifdef MBERT_WITH_MPI
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (g_initialised_here && !finalized) MPI_Finalize();
#endif
}

void AbortDistributed(int code) {
#ifdef MBERT_WITH_MPI
  int done = 0;
  MPI_Initialized(&done);
  if (done) MPI_Abort(MPI_COMM_WORLD, code);
#else
  (void)code;
#endif
}

std::unique_ptr<Communicator> WorldCommunicator() {
#ifdef MBERT_WITH_MPI
  int done = 0;
  MPI_Initialized(&done);
  if (done) return std::make_unique<MpiCommunicator>();
#endif
  return std::make_unique<LocalCommunicator>();
}

}  // namespace mbert
