// @forge/namespaces from its tarball: flags and steps (plain data, nothing started).
import { hostnameStep, idMapPlan, namespaceFlags } from "@forge/namespaces";

const flags: number = namespaceFlags();
const ids = idMapPlan();
const step = hostnameStep("sandbox");
console.log(
  `ok @forge/namespaces: flags 0x${flags.toString(16)}, ${ids.steps.length} id-map steps, "${step.label}"`,
);
