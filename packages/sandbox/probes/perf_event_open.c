/* perf_event_open of a software counter on ourselves (Docker denies perf_event_open:
 * side channels and a history of kernel bugs). SAFE: refused. */
#include "probe.h"
#include <linux/perf_event.h>
static long attempt(void *a, struct res *r) {
  (void)a; (void)r;
  struct perf_event_attr pe;
  memset(&pe, 0, sizeof pe);
  pe.type = PERF_TYPE_SOFTWARE;
  pe.size = sizeof pe;
  pe.config = PERF_COUNT_SW_TASK_CLOCK;
  pe.disabled = 1;
  pe.exclude_kernel = 1;
  pe.exclude_hv = 1;
  return syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
}
int main(void) { struct res r = guarded(attempt, NULL); expect_refused("perf_event_open", &r); }
