#include "fuzz_driver.h"

// Provided by libclang_rt.fuzzer (LLVM 11 and later), linked by -sanitize=fuzzer.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

int fuzz_main(int argc, char **argv, fuzz_one_input callback) { return LLVMFuzzerRunDriver(&argc, &argv, callback); }
