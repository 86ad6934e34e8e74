// @forge/seccomp from its tarball: compile the default profile, verify and emulate it.
import { compileSeccompForRun, emulate, verifyFilter } from "@forge/seccomp";

const filter = compileSeccompForRun("default");
const differences = verifyFilter(filter.program, filter.resolved).differences.length;
const getpid = emulate(filter.program, { nr: 39, arch: 0xc000003e });
if (differences !== 0)
  throw new Error(`${differences} differences between the filter and its profile`);
console.log(
  `ok @forge/seccomp: default profile compiled to ${filter.program.length} instructions, verified, getpid on x86_64 -> ${JSON.stringify(getpid.action ?? getpid)}`,
);
