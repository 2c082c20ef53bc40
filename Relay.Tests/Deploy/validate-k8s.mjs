#!/usr/bin/env node
// Validates rendered Kubernetes manifests offline (no cluster needed):
//
//   kubectl kustomize k8s | node Relay.Tests/Deploy/validate-k8s.mjs [--summary] [FILE | -]
//
// Every object is checked against the Kubernetes API schemas of the npm package kubernetes-models (a PodMonitor
// against @kubernetes-models/prometheus-operator); an object of any other kind is an error. Then a few checks across
// objects that schemas cannot make: selectors match the pod labels, named ports, volumes and ConfigMaps referred to
// exist, no duplicate names, and ConfigMap entries named *.json parse as JSON.
//
// Output: one line per object, "ok Kind/name" or "error Kind/name: problem" (one line per problem), and exit code 1
// on any error. With --summary those lines go to stderr, and stdout gets a JSON summary of the workloads, Services,
// ConfigMaps and PodMonitors (only when everything is valid), for tests to assert on.
//
// The packages are looked up in .tools/k8s/node_modules of the repository (scripts/install-deps.sh --test installs
// them), or in the folder named by RELAY_K8S_TOOLS.
//
// Limitation: the schemas do not reject unknown fields (a misspelt "readinesProbe" passes); the summary shows what a
// workload really has, so assert on it.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const usage = "usage: node validate-k8s.mjs [--summary] [FILE | -]   (reads stdin without FILE)";

function findTools() {
  const installed = (dir) => ["yaml", "kubernetes-models"].every((p) => existsSync(join(dir, "node_modules", p, "package.json")));
  if (process.env.RELAY_K8S_TOOLS) {
    return installed(resolve(process.env.RELAY_K8S_TOOLS)) ? resolve(process.env.RELAY_K8S_TOOLS) : null;
  }
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, ".tools", "k8s");
    if (installed(candidate)) {
      return candidate;
    }
    if (dirname(dir) === dir) {
      return null;
    }
  }
}

// The file URL of an ES module export of a package in the tools folder ("." or "./apps/v1"), from its package.json.
function moduleUrl(tools, pkg, subpath) {
  const dir = join(tools, "node_modules", pkg);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const target = manifest.exports?.[subpath];
  const file = typeof target === "string" ? target : (target?.import ?? target?.default);
  return file ? pathToFileURL(join(dir, file)).href : null;
}

// apiVersion → [package, export] holding its model classes.
function modelModule(apiVersion) {
  if (apiVersion === "monitoring.coreos.com/v1" || apiVersion === "monitoring.coreos.com/v1alpha1") {
    return ["@kubernetes-models/prometheus-operator", `./${apiVersion}`];
  }
  if (/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion)) {
    return ["kubernetes-models", `./${apiVersion}`];
  }
  return null;
}

const args = process.argv.slice(2);
if (args.includes("-h") || args.includes("--help")) {
  console.log(usage);
  process.exit(0);
}
const summaryMode = args.includes("--summary");
const files = args.filter((a) => a !== "--summary");
if (files.length > 1 || files.some((f) => f.startsWith("--"))) {
  console.error(usage);
  process.exit(2);
}

const tools = findTools();
if (!tools) {
  console.error("error: the validator's packages are not installed: run scripts/install-deps.sh --test (it installs them into .tools/k8s)");
  process.exit(2);
}
const YAML = createRequire(join(tools, "package.json"))("yaml");

const text = files.length === 0 || files[0] === "-" ? readFileSync(0, "utf8") : readFileSync(files[0], "utf8");

const report = summaryMode ? (line) => console.error(line) : (line) => console.log(line);
let failed = false;
const fail = (id, problem) => {
  failed = true;
  report(`error ${id}: ${problem}`);
};

// ---- parse -------------------------------------------------------------------------------------------------------

// YAML 1.1, as the API server's parser reads it (yes/no/on/off are booleans, 0644 is octal).
const objects = [];
for (const [index, doc] of YAML.parseAllDocuments(text, { version: "1.1", prettyErrors: true }).entries()) {
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      fail(`document ${index + 1}`, `YAML: ${e.message.split("\n")[0].replace(/:$/, "")}`);
    }
    continue;
  }
  const value = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) {
    continue;
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    fail(`document ${index + 1}`, "not a Kubernetes object (a mapping with apiVersion and kind)");
    continue;
  }
  if (value.apiVersion === "v1" && value.kind === "List" && Array.isArray(value.items)) {
    objects.push(...value.items);
  } else {
    objects.push(value);
  }
}
if (objects.length === 0 && !failed) {
  fail("input", "no Kubernetes objects");
}

// ---- each object against its schema -----------------------------------------------------------------------------

const idOf = (o) => `${o?.kind ?? "?"}/${o?.metadata?.name ?? "?"}`;
const modules = new Map();
const valid = [];
for (const obj of objects) {
  const id = idOf(obj);
  if (typeof obj?.apiVersion !== "string" || typeof obj?.kind !== "string") {
    fail(id, "apiVersion and kind are required strings");
    continue;
  }
  if (typeof obj.metadata?.name !== "string" || obj.metadata.name === "") {
    fail(id, "metadata.name is required");
    continue;
  }
  const where = modelModule(obj.apiVersion);
  let model;
  if (where && !existsSync(join(tools, "node_modules", where[0], "package.json"))) {
    fail(id, `${where[0]} is not installed in ${tools}: run scripts/install-deps.sh --test`);
    continue;
  }
  if (where) {
    const key = where.join(" ");
    if (!modules.has(key)) {
      const url = moduleUrl(tools, where[0], where[1]);
      modules.set(key, url ? await import(url) : null);
    }
    model = modules.get(key)?.[obj.kind];
  }
  if (typeof model !== "function" || model.kind !== obj.kind || model.apiVersion !== obj.apiVersion) {
    fail(id, `no schema for kind ${obj.kind} in ${obj.apiVersion} (the validator knows Kubernetes' own kinds and the Prometheus Operator's)`);
    continue;
  }
  try {
    new model(obj).validate();
  } catch (e) {
    for (const problem of String(e?.message ?? e).split(/, (?=data)/)) {
      fail(id, problem.replace(/^data\/?/, "/"));
    }
    continue;
  }
  valid.push(obj);
  report(`ok ${id}`);
}

// ---- across objects ----------------------------------------------------------------------------------------------

// Only once every object is valid: an invalid one would make the others' references look broken too.
if (failed) {
  process.exit(1);
}

const workloadKinds = new Set(["DaemonSet", "Deployment", "StatefulSet", "ReplicaSet"]);
const nsOf = (o) => o.metadata.namespace ?? "";
const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

const seen = new Set();
for (const o of valid) {
  const key = `${o.apiVersion.split("/").length > 1 ? o.apiVersion.split("/")[0] : ""}|${o.kind}|${nsOf(o)}|${o.metadata.name}`;
  if (seen.has(key)) {
    fail(idOf(o), "appears twice");
  }
  seen.add(key);
}

const configMaps = valid.filter((o) => o.kind === "ConfigMap");
for (const cm of configMaps) {
  for (const [key, value] of Object.entries(cm.data ?? {})) {
    if (key.endsWith(".json")) {
      try {
        JSON.parse(value);
      } catch (e) {
        fail(idOf(cm), `data["${key}"] is not valid JSON: ${e.message}`);
      }
    }
  }
}

const workloads = valid.filter((o) => workloadKinds.has(o.kind) && o.apiVersion === "apps/v1");
for (const w of workloads) {
  const id = idOf(w);
  const pod = w.spec.template;
  if (!matches(w.spec.selector?.matchLabels, pod.metadata?.labels)) {
    fail(id, "spec.selector.matchLabels does not match spec.template.metadata.labels");
  }
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  for (const v of volumes.values()) {
    const name = v.configMap?.name;
    if (name && !v.configMap.optional && !configMaps.some((cm) => cm.metadata.name === name && nsOf(cm) === nsOf(w))) {
      fail(id, `volume ${v.name}: ConfigMap ${name} is not among the objects`);
    }
  }
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    const ports = c.ports ?? [];
    const portNames = new Set();
    for (const p of ports) {
      if (p.name && portNames.has(p.name)) {
        fail(id, `container ${c.name}: port name ${p.name} appears twice`);
      }
      portNames.add(p.name);
    }
    for (const [kind, probe] of [["startupProbe", c.startupProbe], ["livenessProbe", c.livenessProbe], ["readinessProbe", c.readinessProbe]]) {
      const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port ?? probe?.grpc?.port;
      if (typeof port === "string" && !ports.some((p) => p.name === port)) {
        fail(id, `container ${c.name}: ${kind} uses port ${port}, which the container does not name`);
      }
    }
    const envNames = new Set();
    for (const e of c.env ?? []) {
      if (envNames.has(e.name)) {
        fail(id, `container ${c.name}: environment variable ${e.name} appears twice`);
      }
      envNames.add(e.name);
      const ref = e.valueFrom?.configMapKeyRef;
      if (ref && !ref.optional) {
        const cm = configMaps.find((m) => m.metadata.name === ref.name && nsOf(m) === nsOf(w));
        if (!cm || !(ref.key in (cm.data ?? {}) || ref.key in (cm.binaryData ?? {}))) {
          fail(id, `container ${c.name}: ${e.name} refers to ConfigMap ${ref.name} key ${ref.key}, which is not among the objects`);
        }
      }
    }
    for (const m of c.volumeMounts ?? []) {
      if (!volumes.has(m.name)) {
        fail(id, `container ${c.name}: volume mount ${m.mountPath} uses volume ${m.name}, which the pod does not have`);
      }
    }
  }
}

const podsSelected = (selector, namespaces) =>
  workloads.filter((w) => namespaces(nsOf(w)) && matches(selector, w.spec.template.metadata?.labels));
const namedPort = (pods, name, protocol) =>
  pods.some((w) => w.spec.template.spec.containers.some((c) => (c.ports ?? []).some((p) => p.name === name && (p.protocol ?? "TCP") === protocol)));

for (const s of valid.filter((o) => o.kind === "Service" && o.apiVersion === "v1")) {
  if (!s.spec?.selector || s.spec.type === "ExternalName") {
    continue;
  }
  const pods = podsSelected(s.spec.selector, (ns) => ns === nsOf(s));
  if (pods.length === 0) {
    fail(idOf(s), "its selector matches no pod template among the objects");
    continue;
  }
  for (const p of s.spec.ports ?? []) {
    if (typeof p.targetPort === "string" && !namedPort(pods, p.targetPort, p.protocol ?? "TCP")) {
      fail(idOf(s), `port ${p.name ?? p.port}: no selected container has a ${p.protocol ?? "TCP"} port named ${p.targetPort}`);
    }
  }
}

const podMonitors = valid.filter((o) => o.kind === "PodMonitor");
for (const pm of podMonitors) {
  const spec = pm.spec;
  const namespaces = spec.namespaceSelector?.any
    ? () => true
    : spec.namespaceSelector?.matchNames
      ? (ns) => spec.namespaceSelector.matchNames.includes(ns)
      : (ns) => ns === nsOf(pm);
  const pods = podsSelected(spec.selector?.matchLabels, namespaces);
  if (pods.length === 0) {
    fail(idOf(pm), "its selector matches no pod template among the objects");
    continue;
  }
  for (const e of spec.podMetricsEndpoints ?? []) {
    if (e.port && !namedPort(pods, e.port, "TCP")) {
      fail(idOf(pm), `endpoint port ${e.port} is not a TCP port name of the selected containers`);
    }
  }
}

if (failed) {
  process.exit(1);
}
if (!summaryMode) {
  process.exit(0);
}

// ---- summary -----------------------------------------------------------------------------------------------------

function envSource(e) {
  if (!e.valueFrom) {
    return e.value ?? "";
  }
  const f = e.valueFrom;
  if (f.fieldRef) return `fieldRef:${f.fieldRef.fieldPath}`;
  if (f.resourceFieldRef) return `resourceFieldRef:${f.resourceFieldRef.resource}`;
  if (f.secretKeyRef) return `secretKeyRef:${f.secretKeyRef.name}/${f.secretKeyRef.key}`;
  if (f.configMapKeyRef) return `configMapKeyRef:${f.configMapKeyRef.name}/${f.configMapKeyRef.key}`;
  return JSON.stringify(f);
}

function probe(p) {
  if (!p) return null;
  if (p.httpGet) return { type: "httpGet", path: p.httpGet.path ?? "/", port: p.httpGet.port, scheme: p.httpGet.scheme ?? "HTTP" };
  if (p.tcpSocket) return { type: "tcpSocket", port: p.tcpSocket.port };
  if (p.grpc) return { type: "grpc", port: p.grpc.port };
  return { type: "exec", command: p.exec?.command ?? [] };
}

function volume(v) {
  for (const type of ["configMap", "secret", "emptyDir", "hostPath", "persistentVolumeClaim", "projected", "downwardAPI"]) {
    if (v[type]) {
      const source = v[type];
      return {
        name: v.name,
        type,
        source: source.name ?? source.secretName ?? source.path ?? source.claimName ?? null,
        ...(type === "emptyDir" ? { medium: source.medium ?? "", sizeLimit: source.sizeLimit ?? null } : {}),
      };
    }
  }
  return { name: v.name, type: Object.keys(v).find((k) => k !== "name") ?? "unknown", source: null };
}

const summary = {
  objects: valid.map(idOf),
  workloads: workloads.map((w) => {
    const pod = w.spec.template;
    return {
      kind: w.kind,
      name: w.metadata.name,
      namespace: nsOf(w),
      labels: w.metadata.labels ?? {},
      selector: w.spec.selector?.matchLabels ?? {},
      updateStrategy: w.spec.updateStrategy ?? null,
      pod: {
        labels: pod.metadata?.labels ?? {},
        annotations: pod.metadata?.annotations ?? {},
        hostNetwork: pod.spec.hostNetwork ?? false,
        dnsPolicy: pod.spec.dnsPolicy ?? "ClusterFirst",
        serviceAccountName: pod.spec.serviceAccountName ?? null,
        automountServiceAccountToken: pod.spec.automountServiceAccountToken ?? null,
        nodeSelector: pod.spec.nodeSelector ?? {},
        tolerations: pod.spec.tolerations ?? [],
        terminationGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds ?? 30,
        securityContext: pod.spec.securityContext ?? {},
        volumes: (pod.spec.volumes ?? []).map(volume),
      },
      containers: pod.spec.containers.map((c) => ({
        name: c.name,
        image: c.image ?? null,
        ports: (c.ports ?? []).map((p) => ({ name: p.name ?? null, port: p.containerPort, hostPort: p.hostPort ?? null, protocol: p.protocol ?? "TCP" })),
        probes: { startup: probe(c.startupProbe), liveness: probe(c.livenessProbe), readiness: probe(c.readinessProbe) },
        preStop: c.lifecycle?.preStop ?? null,
        volumeMounts: (c.volumeMounts ?? []).map((m) => ({ path: m.mountPath, volume: m.name, readOnly: m.readOnly ?? false, subPath: m.subPath ?? null })),
        env: Object.fromEntries((c.env ?? []).map((e) => [e.name, envSource(e)])),
        securityContext: c.securityContext ?? {},
        resources: c.resources ?? {},
      })),
    };
  }),
  services: valid
    .filter((o) => o.kind === "Service")
    .map((s) => ({
      name: s.metadata.name,
      namespace: nsOf(s),
      type: s.spec?.type ?? "ClusterIP",
      selector: s.spec?.selector ?? {},
      sessionAffinity: s.spec?.sessionAffinity ?? "None",
      internalTrafficPolicy: s.spec?.internalTrafficPolicy ?? "Cluster",
      ports: (s.spec?.ports ?? []).map((p) => ({ name: p.name ?? null, port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol ?? "TCP" })),
    })),
  configMaps: configMaps.map((cm) => ({
    name: cm.metadata.name,
    namespace: nsOf(cm),
    labels: cm.metadata.labels ?? {},
    keys: [...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})],
    data: cm.data ?? {},
  })),
  podMonitors: podMonitors.map((pm) => ({
    name: pm.metadata.name,
    namespace: nsOf(pm),
    selector: pm.spec.selector?.matchLabels ?? {},
    endpoints: (pm.spec.podMetricsEndpoints ?? []).map((e) => ({ port: e.port ?? null, path: e.path ?? "/metrics", interval: e.interval ?? null })),
  })),
};
console.log(JSON.stringify(summary, null, 2));
