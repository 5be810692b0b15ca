#include <stdint.h>
#include <stddef.h>
#include <libisofs/libisofs.h>
