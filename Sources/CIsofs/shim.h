#include <stdint.h>
#include <stddef.h>
// Without libburn, libisofs's own copy of struct burn_source (the image's output stream) is needed.
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>
