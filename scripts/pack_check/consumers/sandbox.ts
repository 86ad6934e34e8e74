// @forge/sandbox from its tarball: echo in a sandbox with the default profile (as root;
// rootless where this host allows unprivileged user namespaces).
import { Sandbox } from "@forge/sandbox";

const box = Sandbox.start({
  argv: ["/bin/echo", "hello from the sandbox"],
  stdio: ["ignore", "pipe", "inherit"],
  timeoutMs: 30_000,
});
let out = "";
box.stdout?.on("data", (d: Buffer) => (out += d));
const closed = new Promise((resolve) => box.once("close", resolve));
const { status, reason } = await box.wait();
await closed; // the piped output has been read to its end
if (status.exitCode !== 0 || out.trim() !== "hello from the sandbox") {
  throw new Error(`sandboxed echo: ${reason.kind} ${status.exitCode} ${JSON.stringify(out)}`);
}
console.log(`ok @forge/sandbox: "${out.trim()}", ${reason.kind} ${status.exitCode}`);
