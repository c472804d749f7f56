// Workload settings as users write them, right and wrong, and the program's verdict on each: the
// problems it names before any change, or the endpoint pod it renders. Held against the OpenAPI
// schema in the unit tier and against a real API server's validation in the e2e tier.
import fc from "fast-check";
import { endpointPodSpec } from "../../components/endpoint";
import { planTopology } from "../../planner/plan";
import { ConfigError, Problem } from "../../planner/problems/errors";
import { parseTopology } from "../../planner/topology/schema";
import { exampleTopology, ohioEndpointPodArgs, plannerFiles } from "./harness";

/** The settings of the workload container a case writes, over the shipped topology's. */
export interface WorkloadSettings {
    env?: { name: string; value: string }[];
    ports?: { containerPort: number; protocol?: string; name?: string }[];
    resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

/** Mostly right, sometimes wrong: a case holds several values, and one wrong value refuses it. */
const mostly = <T>(right: fc.Arbitrary<T>, wrong: T[]) =>
    fc.oneof({ arbitrary: right, weight: 6 }, { arbitrary: fc.constantFrom(...wrong), weight: 1 });

const envVar = fc.record({
    name: mostly(
        fc.oneof(fc.constantFrom("LOG_LEVEL", "log.level-2", "_x", "a", "-dash"), fc.stringMatching(/^[-._a-zA-Z][-._a-zA-Z0-9]{0,5}$/)),
        ["PLUMR_LINK", "1ST", "HAS SPACE", "A=B", "", "é"],
    ),
    value: fc.string({ maxLength: 6 }),
});

const port = fc.record(
    {
        containerPort: mostly(fc.integer({ min: 1, max: 65535 }), [0, -1, 65536, 5000]),
        protocol: mostly(fc.constantFrom("TCP", "UDP", "SCTP"), ["tcp", "ICMP"]),
        name: mostly(fc.oneof(fc.constantFrom("rtsp", "rtsp-2", "x1"), fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/)), [
            "RTSP",
            "8554",
            "a--b",
            "-rtsp",
            "rtsp-",
            "a-very-long-name",
            "",
        ]),
    },
    { requiredKeys: ["containerPort"] },
);

const quantities = fc.dictionary(
    mostly(fc.constantFrom("cpu", "memory", "ephemeral-storage", "hugepages-2Mi", "example.com/foo"), ["CPU", "bad name"]),
    mostly(fc.constantFrom("1", "2", "500m", "1.5", "1Gi", "1024Mi", "100Mi", "0", "1e3", "+1", "0.1m"), [
        "-1",
        "one",
        "1.5Gb",
        "500 m",
        "1e",
    ]),
    { maxKeys: 3 },
);

/** Workload settings: each part left out, right or wrong, the wrong ones the kinds users write. */
export const workloadSettings: fc.Arbitrary<WorkloadSettings> = fc.record(
    {
        env: fc.array(envVar, { maxLength: 3 }),
        ports: fc.array(port, { maxLength: 3 }),
        resources: fc.record({ requests: quantities, limits: quantities }, { requiredKeys: [] }),
    },
    { requiredKeys: [] },
);

/** The program's verdict: the problems it names, or the endpoint's pod it renders. */
export type Verdict = { accepted: false; problems: Problem[] } | { accepted: true; pod: any };

/**
 * Plans the shipped topology with Ohio's workload given `settings`, and renders the pod of Ohio's
 * endpoint as the program does (its sidecars, volumes and the PLUMR_* variables included).
 */
export function programVerdict(settings: WorkloadSettings): Verdict {
    const topology = exampleTopology();
    Object.assign(topology.sites.ohio.workload, structuredClone(settings));
    let plan;
    try {
        plan = planTopology(parseTopology(topology), plannerFiles());
    } catch (err) {
        if (err instanceof ConfigError) return { accepted: false, problems: err.problems };
        throw err;
    }
    // The service account every namespace has: the API server's admission looks it up.
    const spec = endpointPodSpec({ ...ohioEndpointPodArgs(plan), serviceAccount: "default" });
    return { accepted: true, pod: { apiVersion: "v1", kind: "Pod", metadata: { name: "plumr-workload-case" }, spec } };
}

/**
 * What the program refuses on purpose though a recent API server takes it, each with why: the
 * settings that are the program's own, and the rule of the oldest Kubernetes the program supports.
 */
export const STRICTER_BY_DESIGN: { field: RegExp; message: RegExp; why: string }[] = [
    { field: /\.env\[\d+\]\.name$/, message: /PLUMR_\* variables are the program's/, why: "the program sets PLUMR_* itself" },
    {
        field: /\.env\[\d+\]\.name$/,
        message: /letters, digits, '_', '-' and '\.'/,
        why: "Kubernetes 1.29 takes only these names; 1.34 takes any printable character but '='",
    },
    { field: /\.ports\[\d+\]\.containerPort$/, message: /is the port of link/, why: "the pod's plumr sidecar listens on it" },
    {
        field: /\.ports\[\d+\]\.containerPort$/,
        message: /is the endpoint pod's metrics port/,
        why: "the pod's metrics exporter listens on it",
    },
    {
        field: /\.ports\[\d+\]\.name$/,
        message: /the port name metrics is the links' exporter's/,
        why: "the PodMonitor scrapes the port of this name",
    },
];

/**
 * The pod the program would render for `settings` if it did not check them: the pod of the
 * shipped workload, with the settings written into its workload container as the program writes
 * them (the user's variables after the PLUMR_* ones). For settings the program takes, this is the
 * pod it renders.
 */
export function uncheckedPod(settings: WorkloadSettings): any {
    const base = programVerdict({});
    if (!base.accepted) throw new Error(`the shipped topology is refused: ${JSON.stringify(base.problems)}`);
    const pod = structuredClone(base.pod);
    const workload = pod.spec.containers.find((c: any) => c.name === "workload");
    const { env, ports, resources } = structuredClone(settings);
    if (env) workload.env = [...workload.env, ...env];
    if (ports) workload.ports = ports;
    if (resources) workload.resources = resources;
    return pod;
}
