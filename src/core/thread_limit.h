// The largest OpenMP thread count mbert accepts from a user (--threads, a training config's
// "threads"). libgomp crashes (SIGSEGV) when it cannot create the threads asked for, and far more
// threads than cores only adds contention, so counts above a small multiple of the cores are
// refused with a message rather than handed to omp_set_num_threads.
#pragma once

#include <cstdint>
#include <string>

#include "mbert/status.h"

namespace mbert {

// 8 threads per online core (at least 64): room for oversubscribed benchmarks and containers
// that see fewer cores than they may use, far below what breaks libgomp.
int MaxThreads();
// OK for 0 (the default: all cores) and 1..MaxThreads(); `what` names the flag or field.
Status CheckThreadCount(int64_t threads, const std::string& what);

}  // namespace mbert
