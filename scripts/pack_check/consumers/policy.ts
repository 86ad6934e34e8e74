// @forge/policy from its tarball: evaluate a request, verify the audit chain.
import { AuditLog, Policy } from "@forge/policy";

const audit = new AuditLog();
const policy = new Policy(
  {
    version: 1,
    identities: [
      {
        id: "plugin:resize",
        trustLevel: "Standard",
        capabilities: {
          syscalls: ["fd_*", "path_open"],
          resources: ["fd:*", "/images/**"],
          apis: [],
        },
      },
    ],
    rules: [
      { id: "no-secrets", resources: ["/images/private/**"], decision: "deny", errno: "EACCES" },
    ],
  },
  { audit },
);
const allow = policy.evaluate({
  subject: "plugin:resize",
  action: "path_open",
  resource: "/images/a.png",
});
const deny = policy.evaluate({
  subject: "plugin:resize",
  action: "path_open",
  resource: "/images/private/k",
});
if (allow.effect !== "allow" || deny.effect !== "deny")
  throw new Error(`${allow.effect} ${deny.effect}`);
const verified = AuditLog.verify(audit.export(), { head: audit.head }).ok;
if (!verified) throw new Error("audit chain does not verify");
console.log(
  `ok @forge/policy: ${allow.effect}, ${deny.effect} (${deny.rule}), audit chain verified`,
);
