import { MountPlanError } from "@forge/namespaces";
import { describe, expect, it } from "vitest";
import { overrideMounts } from "./mount_overrides.ts";

const profile = {
  binds: [
    { src: "/usr", dst: "/usr", readonly: true, origin: "profile default" },
    { src: "/etc", dst: "/etc", readonly: true, origin: "profile default" },
  ],
  tmpfs: [
    { dst: "/tmp", size: "64M", origin: "profile default" },
    { dst: "/run", size: "8M", origin: "profile default" },
  ],
};

describe("overrideMounts", () => {
  it("replaces the profile's mount at the caller's destination, bind or tmpfs either way", () => {
    const r = overrideMounts(profile, {
      binds: [{ src: "/srv/etc", dst: "/etc/", origin: "--bind /srv/etc:/etc/" }],
      tmpfs: [{ dst: "/tmp/.", size: "256m", origin: "--tmpfs /tmp/.:256m" }, { dst: "/usr" }],
    });
    expect(r.binds).toEqual([{ src: "/srv/etc", dst: "/etc/", origin: "--bind /srv/etc:/etc/" }]);
    expect(r.tmpfs).toEqual([
      profile.tmpfs[1],
      { dst: "/tmp/.", size: "256m", origin: "--tmpfs /tmp/.:256m" },
      { dst: "/usr" },
    ]);
    expect(r.replaced.sort()).toEqual(["/etc", "/tmp", "/usr"]);
  });

  it("keeps everything when nothing is taken, nested destinations included", () => {
    const r = overrideMounts(profile, { binds: [{ src: "/srv", dst: "/tmp/srv" }], tmpfs: [] });
    expect(r.binds).toEqual([...profile.binds, { src: "/srv", dst: "/tmp/srv" }]);
    expect(r.tmpfs).toEqual(profile.tmpfs);
    expect(r.replaced).toEqual([]);
  });

  it("refuses two of the caller's at one destination: both named, the path, the entry at fault", () => {
    let e: unknown;
    try {
      overrideMounts(profile, {
        binds: [{ src: "/a", dst: "/x", origin: "--bind /a:/x" }],
        tmpfs: [{ dst: "/x/", origin: "--tmpfs /x/" }],
      });
    } catch (err) {
      e = err;
    }
    expect(e).toBeInstanceOf(MountPlanError);
    expect((e as MountPlanError).message).toBe(
      "--bind /a:/x and --tmpfs /x/ both mount on /x; give each its own destination",
    );
    expect((e as MountPlanError).item).toEqual({ list: "tmpfs", index: 0, field: "dst" });
    expect(() =>
      overrideMounts(profile, {
        binds: [
          { src: "/a", dst: "/y" },
          { src: "/b", dst: "/y" },
        ],
        tmpfs: [],
      }),
    ).toThrow("binds[0] (/a) and binds[1] (/b) both mount on /y; give each its own destination");
  });

  it("leaves paths the plan refuses to the plan", () => {
    const r = overrideMounts(profile, { binds: [], tmpfs: [{ dst: "/usr/../etc" }] });
    expect(r.replaced).toEqual([]);
  });
});
