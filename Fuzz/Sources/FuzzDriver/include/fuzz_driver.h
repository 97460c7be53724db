// libFuzzer's driver, called from each target's main (SwiftPM gives every executable a main of its own, so the one
// in libFuzzer's runtime cannot be used).
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef int (*fuzz_one_input)(const uint8_t *data, size_t size);

int fuzz_main(int argc, char **argv, fuzz_one_input callback);
