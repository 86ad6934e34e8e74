// @forge/capabilities from its tarball: names, a drop plan and this process's sets.
import { capDropSteps, capNames, capNumber, readCaps } from "@forge/capabilities";

const steps = capDropSteps({ keep: ["NET_BIND_SERVICE"] });
const caps = readCaps("self");
console.log(
  `ok @forge/capabilities: NET_BIND_SERVICE=${capNumber("NET_BIND_SERVICE")}, drop plan of ${steps.length} steps, ${capNames(caps.effective).length} effective caps here`,
);
