import { PR, type Step, type SyscallStep } from "@forge/libc";
import { describe, expect, it } from "vitest";
import { capDropSteps } from "./drop.ts";
import { describeSecurebits, SANDBOX_SECUREBITS, SECBIT } from "./securebits.ts";

const sys = (steps: Step[]) => steps as SyscallStep[];
const capsetMasks = (s: SyscallStep) => {
  const b = (s.args[1] as { bytes: Uint8Array }).bytes;
  const v = new DataView(b.buffer, b.byteOffset);
  const get = (o: number) =>
    BigInt(v.getUint32(o, true)) | (BigInt(v.getUint32(o + 12, true)) << 32n);
  return { eff: get(0), prm: get(4), inh: get(8) };
};

describe("capDropSteps", () => {
  it("drops every capability but the kept ones from the bounding set", () => {
    const steps = sys(capDropSteps({ keep: ["NET_BIND_SERVICE", "CAP_CHOWN"], lastCap: 40 }));
    const dropped = steps.filter((s) => s.args[0] === PR.CAPBSET_DROP).map((s) => s.args[1]);
    expect(dropped).toHaveLength(39);
    expect(dropped).not.toContain(10);
    expect(dropped).not.toContain(0);
    expect(dropped).toContain(21);
  });

  it("orders inheritable, ambient, securebits, identity, final capset", () => {
    const identity: Step = {
      label: "become uid 1000",
      syscall: "setresuid",
      args: [1000, 1000, 1000],
    };
    const steps = sys(
      capDropSteps({ keep: ["NET_BIND_SERVICE"], lastCap: 40, identitySteps: [identity] }),
    ).filter((s) => s.args[0] !== PR.CAPBSET_DROP);
    expect(steps.map((s) => s.label)).toEqual([
      "set inheritable capabilities to {CAP_NET_BIND_SERVICE}",
      "clear the ambient capabilities",
      "raise CAP_NET_BIND_SERVICE in the ambient set",
      `set and lock securebits 0x${SANDBOX_SECUREBITS.toString(16)}`,
      "become uid 1000",
      "keep only CAP_NET_BIND_SERVICE",
    ]);
    const first = capsetMasks(steps[0]!);
    expect(first.inh).toBe(1n << 10n);
    // SETPCAP (8), SETUID (7), SETGID (6) stay effective until the identity switch.
    expect(first.eff).toBe((1n << 10n) | (1n << 8n) | (1n << 7n) | (1n << 6n));
    const last = capsetMasks(steps.at(-1)!);
    expect(last).toEqual({ eff: 1n << 10n, prm: 1n << 10n, inh: 1n << 10n });
  });

  it("drops everything when nothing is kept, and can leave securebits alone", () => {
    const steps = sys(capDropSteps({ lastCap: 40, securebits: null }));
    expect(steps.filter((s) => s.args[0] === PR.CAPBSET_DROP)).toHaveLength(41);
    expect(steps.some((s) => s.args[0] === PR.SET_SECUREBITS)).toBe(false);
    expect(
      steps.some((s) => s.args[0] === PR.CAP_AMBIENT && s.args[1] === PR.CAP_AMBIENT_RAISE),
    ).toBe(false);
    expect(capsetMasks(steps.at(-1)!)).toEqual({ eff: 0n, prm: 0n, inh: 0n });
  });

  it("refuses to keep a capability the kernel does not have", () => {
    expect(() => capDropSteps({ keep: ["CHECKPOINT_RESTORE"], lastCap: 37 })).toThrow(
      /last capability is CAP_AUDIT_READ/,
    );
  });

  it("locks every securebit it sets", () => {
    expect(describeSecurebits(SANDBOX_SECUREBITS)).toEqual([
      "NOROOT",
      "NOROOT_LOCKED",
      "NO_SETUID_FIXUP",
      "NO_SETUID_FIXUP_LOCKED",
      "KEEP_CAPS_LOCKED",
      "NO_CAP_AMBIENT_RAISE",
      "NO_CAP_AMBIENT_RAISE_LOCKED",
    ]);
    expect(SANDBOX_SECUREBITS & SECBIT.KEEP_CAPS).toBe(0);
  });
});
