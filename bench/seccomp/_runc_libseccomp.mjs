// The filter runc loads, built with libseccomp 2.5.4 at a chosen optimisation level:
// libseccomp's program (`libseccompCompile` of packages/seccomp/src/_libseccomp.ts,
// which adds rules the way runc's InitSeccomp/matchCall does) with runc's -ENOSYS stub
// (patchbpf's generateEnosysStub) in front, as BPF, so that its length counts.
import { libseccompCompile } from "../../packages/seccomp/dist/_libseccomp.js";

const AUDIT = {
  x86_64: 0xc000003e,
  i386: 0x40000003,
  x32: 0xc000003e,
  aarch64: 0xc00000b7,
  arm: 0x40000028,
};
const ENOSYS = 0x50026;

const LD = (k) => ({ code: 0x20, jt: 0, jf: 0, k });
const JA = (k) => ({ code: 0x05, jt: 0, jf: 0, k });
const J = (op, k, jt, jf) => ({ code: 0x05 | op, jt, jf, k: k >>> 0 });
const JEQ = 0x10;
const JGT = 0x20;
const JSET = 0x40;

/** runc's patchbpf.generateEnosysStub for the stub bounds (architectures in listed order). */
function enosysStub(stub) {
  const byAudit = new Map();
  for (const [a, max] of stub) {
    if (!byAudit.has(AUDIT[a])) byAudit.set(AUDIT[a], new Map());
    byAudit.get(AUDIT[a]).set(a, max);
  }
  let tail = [JA(1), { code: 0x06, jt: 0, jf: 0, k: ENOSYS }];
  const jumpTable = new Map();
  for (const [audit, maxes] of byAudit) {
    const base = tail.length - 1;
    const toFilter = base + 1;
    const section = [LD(0)];
    if (maxes.size === 1) {
      const [[a, sysno]] = [...maxes];
      let sectionTail =
        base + 1 <= 255
          ? [J(JGT, sysno, base + 1, 0), JA(toFilter)]
          : [J(JGT, sysno, 0, 1), JA(base + 1), JA(toFilter)];
      if (audit === AUDIT.x86_64) {
        const skip = sectionTail.length - 1;
        sectionTail = [
          a === "x32" ? J(JSET, 1 << 30, 0, skip) : J(JSET, 1 << 30, skip, 0),
          ...sectionTail,
        ];
      }
      section.push(...sectionTail);
    } else {
      const x86 = maxes.get("x86_64");
      const x32 = maxes.get("x32");
      if (base + 2 <= 255)
        section.push(
          J(JSET, 1 << 30, 1, 0),
          J(JGT, x86, base + 2, 1),
          J(JGT, x32, base + 1, 0),
          JA(toFilter),
        );
      else
        section.push(
          J(JSET, 1 << 30, 1, 0),
          J(JGT, x86, 1, 2),
          J(JGT, x32, 0, 1),
          JA(base + 1),
          JA(toFilter),
        );
    }
    tail = [...section, ...tail];
    jumpTable.set(audit, tail.length);
  }
  tail = [JA(tail.length), ...tail];
  for (const audit of byAudit.keys()) {
    const jump = tail.length - jumpTable.get(audit);
    tail =
      jump <= 255 ? [J(JEQ, audit, jump, 0), ...tail] : [J(JEQ, audit, 0, 1), JA(jump), ...tail];
  }
  return [LD(4), ...tail];
}

/**
 * What runc loads for a profile, with libseccomp at `optimize` (1: linear, 2: binary
 * tree): `{ program, stubLength, refused }`.
 */
export function runcFilter(profile, o, optimize) {
  const lib = libseccompCompile(profile, { ...o, optimize });
  const stub = lib.stubbed ? enosysStub(lib.stub) : [];
  return { program: [...stub, ...lib.program], stubLength: stub.length, refused: lib.refused };
}
