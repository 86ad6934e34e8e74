// @forge/libc from its tarball: syscall tables, the shipped trampoline, a real spawn.
import { CLONE, hostArch, loadTrampoline, spawn, syscallNumber, trampolinePath } from "@forge/libc";

const abi: number = loadTrampoline().abiVersion();
const child = spawn({
  argv: ["/bin/echo", "hello from the trampoline"],
  cloneFlags: process.getuid?.() === 0 ? CLONE.NEWPID : 0,
  stdio: ["ignore", "pipe", "inherit"],
});
let out = "";
child.stdout?.on("data", (d: Buffer) => (out += d));
const exit = await child.wait();
if (exit.code !== 0 || out.trim() !== "hello from the trampoline") {
  throw new Error(`echo: ${JSON.stringify(exit)} ${JSON.stringify(out)}`);
}
console.log(
  `ok @forge/libc: ${hostArch()} getpid=${syscallNumber("getpid")}, ABI ${abi} from ${trampolinePath()}, echo exited ${exit.code}`,
);
