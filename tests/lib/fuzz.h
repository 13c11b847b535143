/* What a fuzz harness in tests/ defines (see tests/lib/fuzz_replay.c). */
#ifndef NUBE_TEST_FUZZ_H
#define NUBE_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: release the harness's global state after a replay. */
void fuzz_replay_fini(void);

#endif
