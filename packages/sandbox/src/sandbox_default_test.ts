import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runSandbox } from "./_run_sandbox.ts";
import { capabilityWarnings } from "./cap_warnings.ts";
import { resolveSandboxOptions, type SandboxOptions } from "./sandbox.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

const run = (o: SandboxOptions) => runSandbox(o);

describe("Sandbox.start without a profile", () => {
  it("resolves to the default profile, as forge run does; weaker is asked for by name", () => {
    const r = resolveSandboxOptions({ argv: ["true"] });
    expect(r.seccomp).toBe("default");
    expect(r.launch.hostname).toBe("forge");
    expect(r.launch.root?.binds?.map((b) => b.dst)).toContain("/usr");
    expect(r.launch.landlock).toBe("best-effort");
    expect(resolveSandboxOptions({ argv: ["true"], profile: "minimal" }).seccomp).toBe("minimal");
    // A profile object of one's own, with its name: what it says; a seccomp filter it
    // does not name is Forge's default (no filter is asked for by name: "unconfined").
    const own = resolveSandboxOptions({ argv: ["true"], profile: { name: "host-tree" } });
    expect(own.seccomp).toBe("default");
    expect(own.launch.root).toBeUndefined();
    const bare = { name: "host-tree", seccomp: "unconfined" };
    expect(resolveSandboxOptions({ argv: ["true"], profile: bare }).seccomp).toBeUndefined();
  });

  it("gets seccomp, no_new_privs, no capabilities, its own uts and no host tree", async () => {
    const { out, r } = await run({
      argv: [
        "sh",
        "-c",
        `grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; hostname; for p in /home /root ${here}; do test -e "$p" && echo "visible $p"; done; true`,
      ],
    });
    expect(r.status.exitCode).toBe(0);
    expect(out).toMatch(/^Seccomp:\s+2$/m);
    expect(out).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(out).toMatch(/^CapEff:\s+0+$/m);
    expect(out).toMatch(/^forge$/m);
    expect(out).not.toMatch(/visible/);
  });
});

describe("capabilities that undo the walls", () => {
  it("earn one warning line each, whatever the spelling; harmless ones none", () => {
    expect(capabilityWarnings(["NET_BIND_SERVICE", "CHOWN", "nonsense"])).toEqual([]);
    const w = capabilityWarnings(["sys_admin", "CAP_SYS_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH"]);
    expect(w).toHaveLength(3);
    expect(w[0]).toMatch(
      /^keeping CAP_SYS_ADMIN lets the sandbox undo its own walls: mount, umount and remount\b.*read-only binds become writable/,
    );
    for (const line of w) expect(line).not.toContain("\n");
  });

  it("are reported in Sandbox.start's warnings", async () => {
    const { box, r } = await run({ argv: ["true"], capAdd: ["SYS_ADMIN", "NET_BIND_SERVICE"] });
    expect(r.status.exitCode).toBe(0);
    expect(box.warnings.filter((w) => w.startsWith("keeping CAP_"))).toEqual([
      expect.stringMatching(/^keeping CAP_SYS_ADMIN lets the sandbox undo its own walls: /),
    ]);
    const plain = await run({ argv: ["true"], capAdd: ["NET_BIND_SERVICE"] });
    expect(plain.box.warnings.filter((w) => w.startsWith("keeping CAP_"))).toEqual([]);
  });
});
