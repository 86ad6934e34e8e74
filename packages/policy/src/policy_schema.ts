/**
 * The JSON schema (draft-07) of a policy document, shipped with the package and used by
 * {@link parsePolicyDocument}. Also available as `policy.schema.json` beside the package.
 *
 * @example
 * ```ts
 * import { POLICY_SCHEMA } from "@forge/policy";
 * console.log(POLICY_SCHEMA.title);
 * ```
 */
export const POLICY_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://forge.dev/schemas/policy-v1.json",
  title: "Forge policy document",
  type: "object",
  additionalProperties: false,
  required: ["version"],
  properties: {
    $schema: { type: "string" },
    version: { const: 1 },
    description: { type: "string" },
    defaultDecision: { enum: ["allow", "deny"] },
    defaultErrno: { $ref: "#/definitions/errno" },
    quarantineAfter: { type: "integer", minimum: 0 },
    identities: { type: "array", items: { $ref: "#/definitions/identity" } },
    rules: { type: "array", items: { $ref: "#/definitions/rule" } },
  },
  definitions: {
    errno: { type: "string", pattern: "^E[A-Z0-9]+$" },
    patterns: { type: "array", items: { type: "string", minLength: 1 } },
    trustLevel: { enum: ["Core", "Trusted", "Standard", "Limited", "Quarantined"] },
    capabilities: {
      type: "object",
      additionalProperties: false,
      properties: {
        syscalls: { $ref: "#/definitions/patterns" },
        resources: { $ref: "#/definitions/patterns" },
        apis: { $ref: "#/definitions/patterns" },
        custom: { type: "object", additionalProperties: { type: "string" } },
      },
    },
    identity: {
      type: "object",
      additionalProperties: false,
      required: ["id", "trustLevel"],
      properties: {
        id: { type: "string", minLength: 1 },
        description: { type: "string" },
        trustLevel: { $ref: "#/definitions/trustLevel" },
        capabilities: { $ref: "#/definitions/capabilities" },
        quarantineAfter: { type: "integer", minimum: 0 },
      },
    },
    scalar: { type: ["string", "number", "boolean"] },
    argConstraint: {
      type: "object",
      additionalProperties: false,
      required: ["arg", "op"],
      properties: {
        arg: {
          anyOf: [
            { type: "string", minLength: 1 },
            { type: "integer", minimum: 0 },
          ],
        },
        op: {
          enum: [
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "maskedEq",
            "in",
            "notIn",
            "glob",
            "prefix",
            "regex",
          ],
        },
        value: { $ref: "#/definitions/scalar" },
        values: { type: "array", items: { $ref: "#/definitions/scalar" } },
        mask: { type: "integer", minimum: 0 },
      },
      allOf: [
        {
          if: { properties: { op: { enum: ["in", "notIn"] } } },
          // biome-ignore lint/suspicious/noThenProperty: "then" is a JSON schema keyword
          then: { required: ["values"] },
          else: { required: ["value"] },
        },
        // biome-ignore lint/suspicious/noThenProperty: "then" is a JSON schema keyword
        { if: { properties: { op: { const: "maskedEq" } } }, then: { required: ["mask"] } },
      ],
    },
    rule: {
      type: "object",
      additionalProperties: false,
      required: ["id", "decision"],
      properties: {
        id: { type: "string", minLength: 1 },
        description: { type: "string" },
        subjects: { $ref: "#/definitions/patterns" },
        actions: { $ref: "#/definitions/patterns" },
        resources: { $ref: "#/definitions/patterns" },
        minTrust: { $ref: "#/definitions/trustLevel" },
        requireCapability: { type: "boolean" },
        args: { type: "array", items: { $ref: "#/definitions/argConstraint" } },
        decision: { enum: ["allow", "deny", "quarantine"] },
        errno: { $ref: "#/definitions/errno" },
      },
    },
  },
} as const;
