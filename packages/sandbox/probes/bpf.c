/* bpf(BPF_MAP_CREATE) and bpf(BPF_PROG_LOAD) of a socket filter: the verifier is a large
 * attack surface (Docker denies bpf without CAP_SYS_ADMIN). SAFE: both refused. */
#include "probe.h"
#include <linux/bpf.h>
static long map(void *a, struct res *r) {
  (void)a; (void)r;
  union bpf_attr at;
  memset(&at, 0, sizeof at);
  at.map_type = BPF_MAP_TYPE_ARRAY;
  at.key_size = 4;
  at.value_size = 4;
  at.max_entries = 1;
  return syscall(SYS_bpf, BPF_MAP_CREATE, &at, sizeof at);
}
static long prog(void *a, struct res *r) {
  (void)a; (void)r;
  struct bpf_insn insns[2] = {{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0}, {.code = BPF_JMP | BPF_EXIT}};
  union bpf_attr at;
  memset(&at, 0, sizeof at);
  at.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  at.insns = (unsigned long)insns;
  at.insn_cnt = 2;
  at.license = (unsigned long)"GPL";
  return syscall(SYS_bpf, BPF_PROG_LOAD, &at, sizeof at);
}
int main(void) {
  struct res a = guarded(map, NULL), b = guarded(prog, NULL);
  char da[300];
  snprintf(da, sizeof da, "%s", describe(&a));
  if (refused(&a) && refused(&b)) SAFE("BPF_MAP_CREATE: %s; BPF_PROG_LOAD: %s", da, describe(&b));
  UNSAFE("BPF_MAP_CREATE: %s; BPF_PROG_LOAD: %s", da, describe(&b));
}
