/**
 * @forge/policy: the zero-trust policy graph (identities, trust levels, capability
 * sets, ordered rules with argument constraints, quarantine) and a tamper-evident audit
 * log (pino JSON lines, sha256 hash chain). No native code, no layer imports: it loads
 * anywhere Node runs.
 *
 * @example
 * ```ts
 * import { AuditLog, Policy } from "@forge/policy";
 * const audit = new AuditLog();
 * const policy = new Policy(
 *   { version: 1, identities: [{ id: "wasm:app", trustLevel: "Standard", capabilities: { syscalls: ["fd_*"], resources: ["fd:*"] } }] },
 *   { audit, auditDecisions: "all" },
 * );
 * policy.evaluate({ subject: "wasm:app", action: "fd_write", resource: "fd:1" });
 * console.log(AuditLog.verify(audit.export()).ok); // true
 * ```
 *
 * @module
 */
export {
  type AuditAnchor,
  type AuditEntry,
  type AuditEvent,
  AuditLog,
  AuditLogError,
  type AuditLogOptions,
  type AuditProblem,
  type AuditProblemReason,
  type AuditSink,
  type AuditTornLine,
  GENESIS_ANCHOR,
  GENESIS_HASH,
  type VerifyOptions,
  type VerifyResult,
  verifyAuditChain,
} from "./audit_log.ts";
export { CapabilityMatcher, type CapabilitySet, emptyCapabilities } from "./capability_set.ts";
export {
  type Decision,
  decisionEvent,
  type Identity,
  Policy,
  type PolicyOptions,
  type PolicyRequest,
  type QuarantineRecord,
} from "./policy.ts";
export {
  type ArgConstraint,
  type IdentityDoc,
  type PolicyDocument,
  PolicyError,
  type PolicyRule,
  parsePolicyDocument,
} from "./policy_document.ts";
export { POLICY_SCHEMA } from "./policy_schema.ts";
export { meetsTrust, TRUST_LEVELS, type TrustLevel, trustRank } from "./trust_level.ts";

/**
 * The package version.
 *
 * @example
 * ```ts
 * import { PACKAGE_VERSION } from "@forge/policy";
 * console.log(PACKAGE_VERSION);
 * ```
 */
export const PACKAGE_VERSION = "0.1.0";
