/* tiocsti_filter with junk in the upper 32 bits of the ioctl request (the kernel ignores
 * them; a filter comparing 64 bits would let it through). SAFE: refused. */
#define HI 0xdead000000000000UL
#include "tiocsti_filter.c"
