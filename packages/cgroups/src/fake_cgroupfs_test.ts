import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeCgroupFs } from "./fake_cgroupfs.ts";

let fake: FakeCgroupFs;
let r: string;
beforeEach(() => {
  fake = FakeCgroupFs.create();
  r = fake.root;
});
afterEach(() => fake.cleanup());

const code = (fn: () => void): string => {
  try {
    fn();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? "?";
  }
  return "OK";
};

describe("FakeCgroupFs reproduces the kernel's cgroup v2 behaviour", () => {
  it("a new cgroup gets the files of the controllers its parent enables", () => {
    fake.mkdir(`${r}/a`);
    expect(fake.exists(`${r}/a/memory.max`)).toBe(false);
    expect(fake.read(`${r}/a/cgroup.controllers`).trim()).toBe("");
    fake.write(`${r}/cgroup.subtree_control`, "+memory +pids");
    expect(fake.read(`${r}/cgroup.subtree_control`)).toBe("memory pids\n");
    expect(fake.read(`${r}/a/cgroup.controllers`)).toBe("memory pids\n");
    expect(fake.read(`${r}/a/memory.max`)).toBe("max\n");
    expect(fake.read(`${r}/a/pids.max`)).toBe("max\n");
    expect(fake.read(`${r}/a/memory.events`)).toMatch(
      /^low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n$/,
    );
    fake.mkdir(`${r}/b`);
    expect(fake.exists(`${r}/b/cpu.max`)).toBe(false);
    expect(fake.read(`${r}/b/pids.max`)).toBe("max\n");
  });

  it("memory.max: memparse units, page rounding, EINVAL for garbage", () => {
    fake.write(`${r}/cgroup.subtree_control`, "+memory");
    fake.mkdir(`${r}/a`);
    fake.write(`${r}/a/memory.max`, "256M");
    expect(fake.read(`${r}/a/memory.max`)).toBe("268435456\n");
    fake.write(`${r}/a/memory.max`, "10000");
    expect(fake.read(`${r}/a/memory.max`)).toBe("8192\n");
    expect(code(() => fake.write(`${r}/a/memory.max`, "abc"))).toBe("EINVAL");
    expect(code(() => fake.write(`${r}/a/memory.max`, "-1"))).toBe("EINVAL");
    expect(code(() => fake.write(`${r}/a/memory.current`, "0"))).toBe("EACCES");
  });

  it("cpu.max, cpu.weight, pids.max, memory.oom.group ranges", () => {
    fake.write(`${r}/cgroup.subtree_control`, "+cpu +pids +memory");
    fake.mkdir(`${r}/a`);
    fake.write(`${r}/a/cpu.max`, "50000 1000000");
    expect(fake.read(`${r}/a/cpu.max`)).toBe("50000 1000000\n");
    fake.write(`${r}/a/cpu.max`, "max");
    expect(fake.read(`${r}/a/cpu.max`)).toBe("max 1000000\n");
    expect(code(() => fake.write(`${r}/a/cpu.max`, "500 100000"))).toBe("EINVAL");
    expect(code(() => fake.write(`${r}/a/cpu.max`, "50000 2000000"))).toBe("EINVAL");
    expect(code(() => fake.write(`${r}/a/cpu.max`, "abc"))).toBe("EINVAL");
    expect(code(() => fake.write(`${r}/a/cpu.weight`, "0"))).toBe("ERANGE");
    expect(code(() => fake.write(`${r}/a/cpu.weight`, "x"))).toBe("EINVAL");
    expect(code(() => fake.write(`${r}/a/pids.max`, "-1"))).toBe("EINVAL");
    expect(code(() => fake.write(`${r}/a/memory.oom.group`, "2"))).toBe("EINVAL");
  });

  it("io.max: ENODEV for an unknown device, read-back lists all four keys", () => {
    fake.write(`${r}/cgroup.subtree_control`, "+io");
    fake.mkdir(`${r}/a`);
    fake.write(`${r}/a/io.max`, "8:0 wbps=1048576");
    expect(fake.read(`${r}/a/io.max`)).toBe("8:0 rbps=max wbps=1048576 riops=max wiops=max\n");
    expect(code(() => fake.write(`${r}/a/io.max`, "9:9 wbps=1"))).toBe("ENODEV");
    expect(code(() => fake.write(`${r}/a/io.max`, "8:0 bogus=1"))).toBe("EINVAL");
    fake.write(`${r}/a/io.max`, "8:0 wbps=max");
    expect(fake.read(`${r}/a/io.max`)).toBe("");
  });

  it("subtree_control: ENOENT when the parent does not offer it, EINVAL for unknown names", () => {
    fake.mkdir(`${r}/a`);
    expect(code(() => fake.write(`${r}/a/cgroup.subtree_control`, "+memory"))).toBe("ENOENT");
    expect(code(() => fake.write(`${r}/cgroup.subtree_control`, "+bogus"))).toBe("EINVAL");
    expect(code(() => fake.write(`${r}/a/memory.max`, "1M"))).toBe("ENOENT");
  });

  it("the no-internal-processes rule: EBUSY both ways", () => {
    fake.write(`${r}/cgroup.subtree_control`, "+memory");
    fake.mkdir(`${r}/a`);
    fake.addProcess(100, `${r}/a`);
    expect(code(() => fake.write(`${r}/a/cgroup.subtree_control`, "+memory"))).toBe("EBUSY");
    fake.mkdir(`${r}/b`);
    fake.write(`${r}/b/cgroup.subtree_control`, "+memory");
    expect(code(() => fake.write(`${r}/b/cgroup.procs`, "100"))).toBe("EBUSY");
    // disabling a controller a child still uses
    fake.mkdir(`${r}/b/c`);
    fake.write(`${r}/b/c/cgroup.subtree_control`, "+memory");
    expect(code(() => fake.write(`${r}/b/cgroup.subtree_control`, "-memory"))).toBe("EBUSY");
  });

  it("EOPNOTSUPP for a domain invalid cgroup, ESRCH for an unknown pid", () => {
    fake.write(`${r}/cgroup.subtree_control`, "+memory");
    fake.mkdir(`${r}/a`);
    fake.setFile(`${r}/a/cgroup.type`, "domain invalid\n");
    expect(code(() => fake.write(`${r}/a/cgroup.subtree_control`, "+memory"))).toBe("EOPNOTSUPP");
    expect(code(() => fake.write(`${r}/a/cgroup.procs`, "424242"))).toBe("ESRCH");
  });

  it("rmdir is EBUSY while populated or with children; cgroup.kill empties it", () => {
    fake.mkdir(`${r}/a`);
    fake.mkdir(`${r}/a/b`);
    expect(code(() => fake.rmdir(`${r}/a`))).toBe("EBUSY");
    fake.addProcess(7, `${r}/a/b`);
    expect(fake.read(`${r}/a/b/cgroup.procs`)).toBe("7\n");
    expect(fake.read(`${r}/a/b/cgroup.events`)).toMatch(/populated 1/);
    expect(code(() => fake.rmdir(`${r}/a/b`))).toBe("EBUSY");
    fake.write(`${r}/a/cgroup.kill`, "1");
    expect(fake.killed).toEqual([7]);
    fake.rmdir(`${r}/a/b`);
    fake.rmdir(`${r}/a`);
    expect(fake.exists(`${r}/a`)).toBe(false);
    expect(code(() => fake.mkdir(`${r}/x/y`))).toBe("ENOENT");
  });

  it("cgroup.freeze reports through cgroup.events", () => {
    fake.mkdir(`${r}/a`);
    fake.write(`${r}/a/cgroup.freeze`, "1");
    expect(fake.read(`${r}/a/cgroup.events`)).toMatch(/frozen 1/);
    expect(code(() => fake.write(`${r}/a/cgroup.freeze`, "2"))).toBe("EINVAL");
  });
});
