/**
 * The kernel's parameter lists of the system calls that built-in profiles (and Docker's
 * default) put argument rules on, per ABI: which argument index is which parameter, its
 * C type, how many low bits of the register the kernel reads on a 64-bit ABI, and
 * whether a rule may test it at all (a flag word, family or command: a value in the
 * register, not a pointer, size or mode). Written from the kernel's SYSCALL_DEFINEx /
 * COMPAT_SYSCALL_DEFINEx (Linux 6.18), for the ABIs Forge builds for. Private: the tests
 * check every built-in rule's index against it, so that a rule can never again test
 * `open`'s mode where its flags are meant (open's flags are arg 1, openat's arg 2).
 *
 * @module
 */
import type { Arch } from "@forge/libc";

/** One parameter as the kernel declares it. */
export interface Param {
  readonly name: string;
  /** The C type in the kernel's definition. */
  readonly type: string;
  /** How many low bits of the register the kernel uses on a 64-bit ABI. */
  readonly bits: 32 | 64;
  /** A rule may test it: a value that selects what the call does. */
  readonly selector: boolean;
}

const p = (name: string, type: string, selector = false): Param => ({
  name,
  type,
  // int, unsigned int, umode_t: the kernel truncates the register to 32 bits.
  bits: /^(unsigned )?int$|^umode_t$/.test(type) ? 32 : 64,
  selector,
});

const PTR = "pointer";

/** clone's flags: `unsigned long`, but kernel_clone_args takes lower_32_bits() of it. */
const CLONE_FLAGS: Param = { name: "clone_flags", type: "unsigned long", bits: 32, selector: true };

const COMMON: Record<string, readonly Param[]> = {
  socket: [p("family", "int", true), p("type", "int", true), p("protocol", "int", true)],
  socketpair: [
    p("family", "int", true),
    p("type", "int", true),
    p("protocol", "int", true),
    p("usockvec", PTR),
  ],
  ioctl: [p("fd", "unsigned int"), p("cmd", "unsigned int", true), p("arg", "unsigned long")],
  // ksys_unshare() checks the whole unsigned long (upper bits: EINVAL).
  unshare: [p("unshare_flags", "unsigned long", true)],
  personality: [p("personality", "unsigned int", true)],
  open: [p("filename", PTR), p("flags", "int", true), p("mode", "umode_t")],
  openat: [p("dfd", "int"), p("filename", PTR), p("flags", "int", true), p("mode", "umode_t")],
  // Flags in a struct in memory: nothing for a rule to test.
  openat2: [p("dfd", "int"), p("filename", PTR), p("how", PTR), p("usize", "size_t")],
  creat: [p("pathname", PTR), p("mode", "umode_t")],
  open_by_handle_at: [p("mountdirfd", "int"), p("handle", PTR), p("flags", "int", true)],
  clone3: [p("uargs", PTR), p("size", "size_t")],
  // i386 only: the sub-call; its arguments are in memory (socketcall) or shifted (ipc).
  socketcall: [p("call", "int", true), p("args", PTR)],
  ipc: [
    p("call", "unsigned int", true),
    p("first", "int"),
    p("second", "unsigned long"),
    p("third", "unsigned long"),
    p("ptr", PTR),
    p("fifth", "long"),
  ],
};

/** clone's order differs: CONFIG_CLONE_BACKWARDS (i386, arm, arm64) swaps tls and child_tid. */
const CLONE_X86_64: readonly Param[] = [
  CLONE_FLAGS,
  p("newsp", "unsigned long"),
  p("parent_tidptr", PTR),
  p("child_tidptr", PTR),
  p("tls", "unsigned long"),
];
const CLONE_BACKWARDS: readonly Param[] = [
  CLONE_FLAGS,
  p("newsp", "unsigned long"),
  p("parent_tidptr", PTR),
  p("tls", "unsigned long"),
  p("child_tidptr", PTR),
];

/**
 * The parameters of `name` on `arch`, or undefined when the table does not list it.
 *
 * @example
 * ```ts
 * import { syscallParams } from "./_signatures.ts";
 * syscallParams("open", "x86_64")![1]!.name; // "flags"
 * syscallParams("openat", "i386")![2]!.name; // "flags"
 * ```
 */
export function syscallParams(name: string, arch: Arch): readonly Param[] | undefined {
  if (name === "clone") return arch === "x86_64" || arch === "x32" ? CLONE_X86_64 : CLONE_BACKWARDS;
  return COMMON[name];
}

/** The names the table covers. */
export const SIGNATURE_NAMES: readonly string[] = [...Object.keys(COMMON), "clone"];
