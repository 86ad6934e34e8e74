// @forge/cli from its tarball: its API (main) in-process; run.mjs also runs its bin.
import { main } from "@forge/cli";

const code: number = await main(["seccomp", "profiles"]);
if (code !== 0) throw new Error(`forge seccomp profiles exited ${code}`);
console.log('ok @forge/cli: main(["seccomp", "profiles"]) exited 0');
