/* TIOCSTI with junk in the upper 32 bits of the request: the kernel truncates the
 * request to 32 bits, a seccomp filter that compares all 64 bits misses it.
 * SAFE: refused on every terminal fd (see tiocsti_host). */
#define HI 0xdead000000000000UL
#include "tiocsti_host.c"
