// Property-based tests over the configurations users can write: thousands of mutations of the
// shipped topologies (Pulumi.yaml, the four-site examples, the local demo stacks) and of a
// stack's own keys. Every one either plans (and then renders objects that pass the Kubernetes
// OpenAPI schema) or fails with a ConfigError whose every problem names a field of the input, in
// the user's words; never with an exception of another kind.
//
// The seed is random on each run. A failure prints the seed, the path and the shrunk case, and
// how to replay it: PLUMR_PROPERTY_SEED=<seed> PLUMR_PROPERTY_PATH=<path> (the path replays the
// failing case alone). PLUMR_PROPERTY_RUNS=<factor> multiplies every numRuns, to search longer.
import * as pulumi from "@pulumi/pulumi";
import * as assert from "assert";
import fc from "fast-check";
import { planAllocations, planTopology } from "../../planner/plan";
import { parseTopology } from "../../planner/topology/schema";
import {
    assertAccepted,
    assertUserError,
    Base,
    Input,
    mutate,
    mutatedTopology,
    shippedConfigurations,
    stackCase,
    StackCase,
    stackConfig,
    stackRejections,
    topologyRejections,
} from "../support/configMutations";
import { plannerFiles, Registered, runProgram, RunOptions } from "../support/harness";
import { KubernetesSchemas } from "../support/openapi";

const SCALE = Number(process.env.PLUMR_PROPERTY_RUNS ?? "1");
const RUNS = {
    plan: Math.ceil(5000 * SCALE),
    stackConfig: Math.ceil(150 * SCALE),
    program: Math.ceil(80 * SCALE),
};

const FILE = "test/unit/properties.test.ts";

/** Checks `property`; on a failure, throws fast-check's report (seed, path, shrunk case) and the command that replays it. */
async function holds<T>(
    title: string,
    property: fc.IProperty<T> | fc.IAsyncProperty<T>,
    numRuns: number,
    timeLimit: number,
): Promise<void> {
    const seed = process.env.PLUMR_PROPERTY_SEED !== undefined ? Number(process.env.PLUMR_PROPERTY_SEED) : undefined;
    const details = await fc.check(property as fc.IAsyncProperty<T>, {
        numRuns,
        ...(seed !== undefined && { seed }),
        ...(process.env.PLUMR_PROPERTY_PATH && { path: process.env.PLUMR_PROPERTY_PATH }),
        // Shrinking a slow property can take long: report the smallest case found by then.
        interruptAfterTimeLimit: timeLimit,
        includeErrorInReport: true,
    });
    if (!details.failed) return;
    const replay =
        `PLUMR_PROPERTY_SEED=${details.seed} PLUMR_PROPERTY_PATH=${details.counterexamplePath ?? ""} ` +
        `npx mocha --no-config -r ts-node/register/transpile-only --timeout 300000 ${FILE} -g '${title}'`;
    throw new Error(`${fc.defaultReportMessage(details)}\n\nReplay this case:\n  ${replay}`);
}

/** The plan's own values are well formed: addresses, tunnel addresses and ports. */
function assertWellFormedPlan(plan: ReturnType<typeof planTopology>): void {
    const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
    for (const link of plan.links) {
        for (const end of link.ends) {
            for (const ip of [end.address, end.tunnelIp, end.gateway]) assert.match(ip, ipv4, `link ${link.name}: ${ip}`);
            assert.ok(Number.isInteger(end.port) && end.port >= 1 && end.port <= 65535, `link ${link.name}: port ${end.port}`);
        }
    }
}

/** What each Kubernetes object's metadata must satisfy beyond the OpenAPI schema: the API server's name and label rules. */
function metadataFaults(r: Registered): string[] {
    const faults: string[] = [];
    const { name, labels } = r.inputs.metadata ?? {};
    if (typeof name !== "string" || name.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
        faults.push(`name ${JSON.stringify(name)}`);
    }
    for (const [key, value] of Object.entries<unknown>(labels ?? {})) {
        if (typeof value !== "string" || value.length > 63 || !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(value)) {
            faults.push(`label ${key}=${JSON.stringify(value)}`);
        }
    }
    return faults;
}

/**
 * What `fn` returns, if the input was one to accept (for the topology's schema alone, when
 * `schema`); undefined when it failed as it must, in the user's words.
 */
function outcome<T>(fn: () => T, input: Input, schema = false): T | undefined {
    let result: T;
    try {
        result = fn();
    } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        assertUserError(err, input);
        return undefined;
    }
    assertAccepted(input, schema);
    return result;
}

/** `outcome` of a promise. */
async function outcomeOf<T>(promise: Promise<T>, input: Input): Promise<T | undefined> {
    let result: T;
    try {
        result = await promise;
    } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        assertUserError(err, input);
        return undefined;
    }
    assertAccepted(input);
    return result;
}

describe("properties: every configuration a user can write plans, or fails in the user's words", function () {
    this.timeout(300_000 * Math.max(1, SCALE));
    const bases = shippedConfigurations();
    const byName = new Map<string, Base>(bases.map((b) => [b.name, b]));
    let schemas: KubernetesSchemas;
    // What the program logs (thousands of lines over the runs): kept per run, checked, not printed.
    const logged: string[] = [];
    const log = pulumi.log as { info: (msg: string) => void; warn: (msg: string) => void };
    const { info, warn } = log;
    before(() => {
        schemas = new KubernetesSchemas();
        log.info = (msg) => void logged.push(`info: ${msg}`);
        log.warn = (msg) => void logged.push(`warning: ${msg}`);
    });
    after(() => {
        Object.assign(log, { info, warn });
    });

    /** Runs the program, and checks what it logged: words for a user, no JavaScript leaking through. */
    async function run(options: RunOptions) {
        logged.length = 0;
        try {
            return await runProgram(options);
        } finally {
            const leaks = logged.filter((line) => /\bundefined\b|\bNaN\b|\[object \w+\]/.test(line));
            assert.deepStrictEqual(leaks, [], "the program logged JavaScript's words to the user");
        }
    }

    /** The rendered Kubernetes objects of a run that are not valid. */
    function renderFaults(resources: Registered[]): string[] {
        const objects = resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs?.apiVersion !== undefined);
        return objects.flatMap((r) => [...schemas.validate(r.inputs), ...metadataFaults(r)].map((e) => `${r.type} ${r.name}: ${e}`));
    }

    const planTitle = "mutated topologies: parse and plan";
    it(`${planTitle} (${RUNS.plan} runs)`, async () => {
        const files = new Map(bases.map((b) => [b.name, plannerFiles({ allocations: b.allocations })]));
        await holds(
            planTitle,
            fc.property(mutatedTopology(bases, { breaking: 3, plausible: 2 }), ({ base, mutations }) => {
                const raw = JSON.parse(JSON.stringify(mutate(byName.get(base)!.topology, mutations)));
                const input: Input = { topology: raw, setKeys: ["plumr:topology"], rejected: topologyRejections(raw) };
                const topology = outcome(() => parseTopology(structuredClone(raw)), input, true);
                if (!topology) return;
                const plan = outcome(() => planTopology(topology, files.get(base)!), input);
                if (plan) assertWellFormedPlan(plan);
                outcome(() => planAllocations(topology, byName.get(base)!.allocations), input);
            }),
            RUNS.plan,
            60_000 * Math.max(1, SCALE),
        );
    });

    const stackTitle = "mutated stack configurations: the whole program";
    it(`${stackTitle} (${RUNS.stackConfig} runs)`, async () => {
        const cases = fc.oneof(...bases.map((b) => fc.record({ base: fc.constant(b.name), stack: stackCase(b) })));
        await holds(
            stackTitle,
            fc.asyncProperty(cases, async ({ base, stack }: { base: string; stack: StackCase }) => {
                const { topology, allocations } = byName.get(base)!;
                const rawConfig = stackConfig(stack);
                let raw: unknown = topology;
                if (stack.topologyText !== undefined) {
                    try {
                        raw = JSON.parse(stack.topologyText);
                    } catch {
                        raw = stack.topologyText;
                    }
                }
                const input: Input = {
                    topology: raw,
                    setKeys: ["plumr:topology", ...Object.keys(rawConfig).filter((k) => rawConfig[k] !== undefined)],
                    rejected: [...topologyRejections(raw), ...stackRejections(stack, rawConfig)],
                };
                const result = await outcomeOf(run({ stack: stack.stack, topology, allocations, rawConfig }), input);
                if (result) assert.deepStrictEqual(renderFaults(result.resources), []);
            }),
            RUNS.stackConfig,
            90_000 * Math.max(1, SCALE),
        );
    });

    const programTitle = "mutated topologies: the whole program, and the objects it renders";
    it(`${programTitle} (${RUNS.program} runs)`, async () => {
        const cases = fc.record({
            topology: mutatedTopology(bases, { breaking: 1, plausible: 6 }, 3),
            // Deploy every site in one stack, or one site (its peers then come from their stacks' bootstrap values).
            one: fc.option(fc.nat(5), { nil: undefined }),
        });
        await holds(
            programTitle,
            fc.asyncProperty(cases, async ({ topology: { base, mutations }, one }) => {
                const shipped = byName.get(base)!;
                const topology: any = JSON.parse(JSON.stringify(mutate(shipped.topology, mutations)));
                const map = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
                const names = map(topology) && map(topology.sites) ? Object.keys(topology.sites) : [];
                const sites = one !== undefined && names.length > 0 ? [names[one % names.length]] : names;
                // The harness writes the allocations file where the topology says: only where the shipped one is.
                const allocations =
                    topology?.allocations === undefined || topology.allocations === shipped.topology.allocations
                        ? shipped.allocations
                        : null;
                const input: Input = {
                    topology,
                    setKeys: ["plumr:topology", "plumr:sites", "plumr:access"],
                    rejected: topologyRejections(topology),
                };
                const result = await outcomeOf(
                    run({
                        stack: "demo",
                        // A topology that is not a map at all goes in as text: the harness reads the topology it is given.
                        topology: map(topology) ? topology : shipped.topology,
                        sites,
                        allocations,
                        rawConfig: map(topology) ? {} : { "plumr:topology": JSON.stringify(topology) },
                    }),
                    input,
                );
                if (result) assert.deepStrictEqual(renderFaults(result.resources), []);
            }),
            RUNS.program,
            90_000 * Math.max(1, SCALE),
        );
    });
});
