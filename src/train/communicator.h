// Data-parallel communication for training: the ranks of one job, each running the same
// deterministic step on its share of the micro-batches, and the sums that make their results one.
//
// Two implementations: LocalCommunicator (one process, every reduction the identity) and, when
// mbert is built with MPI (Open MPI from Debian), the MPI_COMM_WORLD communicator of a job started
// by mpirun. The trainer only sees this interface, so a NCCL communicator (GPU buffers,
// ncclAllReduce on a stream) would slot in the same way (docs/training.md).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "mbert/status.h"

namespace mbert {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Element-wise sum over all ranks, in place; every rank ends with bitwise the same values (the
  // optimizer step that follows must be identical everywhere, or the replicas drift apart).
  virtual Status AllReduceSum(std::span<double> values) = 0;
  // The gradient buffers, all summed in place. The MPI implementation starts a non-blocking
  // all-reduce per bucket (buffers gathered up to ~bucket_bytes) so the transfers pipeline, then
  // waits for all of them.
  virtual Status AllReduceSum(const std::vector<std::span<float>>& buffers) = 0;
  // Rank 0's bytes, on every rank.
  virtual Status Broadcast(std::span<uint8_t> bytes) = 0;
  virtual Status Barrier() = 0;
};

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  Status AllReduceSum(std::span<double>) override { return Status::Ok(); }
  Status AllReduceSum(const std::vector<std::span<float>>&) override { return Status::Ok(); }
  Status Broadcast(std::span<uint8_t>) override { return Status::Ok(); }
  Status Barrier() override { return Status::Ok(); }
};

// True when this binary was built with MPI.
bool MpiAvailable();
// Initialises MPI when the process was started by an MPI launcher (mpirun / mpiexec set
// OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE); a plain run stays single-process and never loads
// MPI's runtime. Idempotent. An error when launched by mpirun but built without MPI.
Status InitDistributedFromEnvironment(int* argc, char*** argv);
// MPI_Finalize if InitDistributedFromEnvironment initialised MPI.
void FinalizeDistributed();
// Ends every rank of the job with `code` (MPI_Abort); a no-op without MPI.
void AbortDistributed(int code);
// The world communicator: MPI's when initialised, else a LocalCommunicator.
std::unique_ptr<Communicator> WorldCommunicator();

}  // namespace mbert
