// Validate Strimzi resources against the schemas of Strimzi's CRDs (compiled into
// @kubernetes-models/strimzi-kafka-operator). Reads a JSON array of resources on stdin and
// prints a JSON array with, for each, null or the schema's complaint.
import { readFileSync } from "node:fs";

const resources = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const resource of resources) {
  const [group, version] = resource.apiVersion.split("/");
  try {
    const module = await import(
      `@kubernetes-models/strimzi-kafka-operator/${group}/${version}/${resource.kind}`
    );
    new module[resource.kind](resource).validate();
    results.push(null);
  } catch (error) {
    results.push(String(error.message ?? error));
  }
}
process.stdout.write(JSON.stringify(results));
