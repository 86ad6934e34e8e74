import { describe, expect, it } from "vitest";
import { commandCandidates, hostPathOf } from "./resolve_command.ts";

describe("command resolution inside a new root", () => {
  const binds = [
    { src: "/usr", dst: "/usr" },
    { src: "/usr/bin", dst: "/tools" },
    { src: "/etc", dst: "/etc" },
  ];

  it("maps inside paths to the host through the longest bind", () => {
    expect(hostPathOf("/usr/bin/ls", binds)).toBe("/usr/bin/ls");
    expect(hostPathOf("/tools/ls", binds)).toBe("/usr/bin/ls");
    expect(hostPathOf("/opt/x", binds)).toBeUndefined();
    expect(hostPathOf("/usrx/y", binds)).toBeUndefined();
  });

  it("finds commands only where the sandbox will see them", () => {
    expect(commandCandidates("sh", "/opt/bin:/tools:/usr/bin", binds)).toEqual([
      "/tools/sh",
      "/usr/bin/sh",
    ]);
    expect(commandCandidates("sh", "/opt/bin", binds)).toEqual(["/opt/bin/sh"]);
    expect(commandCandidates("./run.sh", "/usr/bin", binds)).toEqual(["./run.sh"]);
    expect(commandCandidates("no-such-cmd-xyz", "/usr/bin:/bin", binds)).toEqual([
      "/usr/bin/no-such-cmd-xyz",
    ]);
  });
});
