// fake_hub [--port P]: serves the test repos (fake_hub.h) on 127.0.0.1 until killed; prints the
// endpoint on its first line. For tools/hub/check_with_huggingface_hub.sh.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "fake_hub.h"

int main(int argc, char** argv) {
  int port = 0;
  const char* data = std::getenv("MBERT_TESTDATA_DIR");
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--port") == 0) port = std::atoi(argv[i + 1]);
  mbert::testing::FakeHub hub;
  mbert::testing::AddTestRepos(hub, data ? data : "tests/data");
  std::printf("%s\n", hub.Start(port).c_str());
  std::fflush(stdout);
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(3600));
}
