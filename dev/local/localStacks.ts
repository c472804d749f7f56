// The program's stacks on the local clusters, through the Pulumi Automation API with a local file
// backend: shared by `npm run demo` and the end-to-end tests.
import { LocalWorkspace, PreviewOptions, PreviewResult, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import versions from "../toolchain/versions.json";
import { ENVIRONMENTS_DIR, mergeEnvironment, siteStack as environmentSiteStack } from "../../planner/environments/environments";
import { readEnvironmentFile } from "../../program/environmentFiles";
import { parseTopology } from "../../planner/topology/schema";
import { ClusterSpec, ENVIRONMENT_LABEL, ENVIRONMENT_NODE, Instance, KubeApi, kubeconfigPath, localClusterSpecs } from "./localClusters";
import { localImages } from "./nodeConfig";
import { readProjectFile, SHIPPED_PROJECT, topologyIn } from "../../lib/topologyFile";

const ROOT = path.join(__dirname, "..", "..");
const TOOLCHAIN = process.env.PLUMR_TOOLCHAIN_DIR ?? path.join(ROOT, ".cache", "toolchain");

/** Where one local deployment keeps its project, state and Pulumi home. */
export interface LocalDeployment {
    /** Directory of the generated Pulumi.yaml (its `main` is the repository's program). */
    projectDir: string;
    stateDir: string;
    /** The environment every Pulumi command of this deployment runs with. */
    env: Record<string, string>;
}

/** The directories of local deployment `name`, made if missing, with a fresh copy of the stand-in binaries. */
function deploymentDirs(name: string, project: string) {
    const base = path.join(ROOT, ".cache", name);
    const dirs = {
        base,
        projectDir: path.join(base, project),
        stateDir: path.join(base, "state"),
        binariesDir: path.join(base, "stand-in-binaries"),
        home: path.join(base, "pulumi-home"),
    };
    for (const dir of [dirs.projectDir, dirs.stateDir, dirs.binariesDir, dirs.home]) fs.mkdirSync(dir, { recursive: true });
    for (const binary of ["plumr", "shm_printer"])
        fs.copyFileSync(path.join(ROOT, "dev", "stand-ins", binary), path.join(dirs.binariesDir, binary));
    return dirs;
}

/**
 * The local changes to a topology's sites: they are not on AWS here (routing: none), and their
 * images are the ones built from Debian packages and imported into the real nodes (dev/setup/images.sh).
 */
export function localizeSites(topology: any): void {
    const images = localImages();
    for (const site of Object.values<any>(topology.sites)) {
        if (site.aws) site.aws = { region: site.aws.region, routing: "none" };
        site.sidecarImage = images.tools.name;
        site.workload = { ...site.workload, image: images.tools.name };
    }
}

/**
 * The local changes to a topology written for real clusters: its sites' (localizeSites), the
 * binaries are the stand-ins in `binariesDir`, and the template's path is absolute (`from`: the
 * directory it was relative to).
 */
function localize(topology: any, binariesDir: string, from: string): void {
    localizeSites(topology);
    topology.binaries.dir = binariesDir;
    topology.binaries.installerImage = localImages().installer.name;
    topology.configTemplate = path.join(from, topology.configTemplate);
}

/**
 * Writes a local deployment's own allocations file at `file`: the links as `committed` (a file of
 * the repository) records them, and the slots the deployment recorded before (dev/local/localSlots.ts
 * recordSlots), so that its nodes keep their slots as a team's committed file keeps them. The
 * repository's files are never written.
 */
function localAllocations(file: string, committed: string): void {
    const record = JSON.parse(fs.readFileSync(committed, "utf8"));
    const recorded = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")).sites : undefined;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify({ ...record, ...(recorded && { sites: recorded }) }, null, 2)}\n`);
}

/** Writes the project file of a local deployment, its program the repository's. */
function writeProject(projectDir: string, project: any, header: string): void {
    project.main = path.relative(projectDir, ROOT);
    fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), header + YAML.stringify(project));
}

/** The environment every Pulumi command of a local deployment runs with; installs the provider plugin on first use. */
export function deploymentEnv(dirs: { stateDir: string; home: string }): Record<string, string> {
    const env: Record<string, string> = {
        PATH: `${path.join(TOOLCHAIN, "bin")}:${process.env.PATH}`,
        PULUMI_HOME: dirs.home,
        PULUMI_BACKEND_URL: `file://${dirs.stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "plumr-local",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    };
    installProviderPlugin(env);
    return env;
}

/**
 * Makes a local copy of the project whose topology is the shipped one with three local changes,
 * said in its Pulumi.yaml: the sites are not on AWS here (routing: none), the binaries are the
 * stand-ins of dev/stand-ins/ (copied, so that a test may change them), and the images are the ones
 * built from Debian packages and imported into the real nodes (dev/setup/images.sh). `edit` may
 * change the topology further (tests do).
 */
export function prepareLocalDeployment(name: string, edit: (topology: any) => void = () => {}): LocalDeployment {
    const dirs = deploymentDirs(name, "project");
    const project = readProjectFile(SHIPPED_PROJECT);
    const topology = topologyIn(project, SHIPPED_PROJECT);
    localize(topology, dirs.binariesDir, ROOT);
    topology.allocations = path.join(dirs.projectDir, "allocations.json");
    localAllocations(topology.allocations, path.join(ROOT, "plumr", "allocations.json"));
    edit(topology);
    writeProject(
        dirs.projectDir,
        project,
        "# Generated for a local deployment from the repository's Pulumi.yaml: routing none, stand-in binaries (dev/stand-ins/),\n" +
            "# images built from Debian packages (dev/setup/images.sh).\n",
    );
    return { projectDir: dirs.projectDir, stateDir: dirs.stateDir, env: deploymentEnv(dirs) };
}

/** The environments of examples/environments, in promotion order, as the local clusters run them side by side. */
export const LOCAL_ENVIRONMENTS = ["staging", "production"] as const;

/**
 * Makes a local copy of the environments example (examples/environments): staging and production
 * side by side on the local clusters of `instance`, each on nodes of its own, as a cluster shared by
 * two environments has them: each environment's pool selects the nodes labelled with its name
 * (ENVIRONMENT_LABEL), and this labels production's on each site's first pool node and staging's on
 * its second (ENVIRONMENT_NODE). Each environment has a namespace of its own (plumr-<env>) and the
 * local changes of prepareLocalDeployment, and its allocations file (the example's, with the slots
 * recorded locally). Its stacks share the backend of the instance's other deployment.
 */
export async function prepareLocalEnvironments(instance: Instance): Promise<LocalDeployment> {
    const dirs = deploymentDirs(instance, "project-environments");
    const exampleDir = path.join(ROOT, "examples", "environments");
    const exampleProject = path.join(exampleDir, "Pulumi.yaml");
    const project = readProjectFile(exampleProject);
    const shared = topologyIn(project, exampleProject);
    localize(shared, dirs.binariesDir, exampleDir);
    for (const env of LOCAL_ENVIRONMENTS) {
        const topology = mergeEnvironment(shared, readEnvironmentFile(exampleDir, env), env);
        localizeSites(topology); // again: the environment's file gives its sites' VPCs
        for (const site of Object.values<any>(topology.sites)) site.namespace = `plumr-${env}`;
        const dir = path.join(dirs.projectDir, ENVIRONMENTS_DIR, env);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "topology.yaml"), YAML.stringify(topology));
        const allocations = parseTopology(topology).allocations;
        localAllocations(path.join(dirs.projectDir, allocations), path.join(exampleDir, allocations));
    }
    fs.writeFileSync(path.join(dirs.projectDir, ENVIRONMENTS_DIR, "promotion.yaml"), YAML.stringify([...LOCAL_ENVIRONMENTS]));
    writeProject(
        dirs.projectDir,
        project,
        "# Generated for a local deployment from examples/environments: each environment on nodes of its own of the local\n" +
            "# clusters, routing none, stand-in binaries (dev/stand-ins/), images built from Debian packages (dev/setup/images.sh).\n",
    );
    await labelEnvironmentNodes(instance);
    return { projectDir: dirs.projectDir, stateDir: dirs.stateDir, env: deploymentEnv(dirs) };
}

/** Labels each site's ENVIRONMENT_NODE[env]-th pool node with environment env, and takes the label off every other node. */
async function labelEnvironmentNodes(instance: Instance): Promise<void> {
    for (const cluster of localClusterSpecs(instance)) {
        const api = new KubeApi(cluster);
        for (const node of cluster.nodes) {
            const k = cluster.realNodes.findIndex((n) => n.name === node.name);
            const env = LOCAL_ENVIRONMENTS.find((e) => ENVIRONMENT_NODE[e] === k) ?? null;
            await api.patch(`/api/v1/nodes/${node.name}`, { metadata: { labels: { [ENVIRONMENT_LABEL]: env } } });
        }
    }
}

/** Installs the locally built Kubernetes provider into this deployment's Pulumi home, once. */
function installProviderPlugin(env: Record<string, string>): void {
    const version = versions.pulumiKubernetes;
    if (fs.existsSync(path.join(env.PULUMI_HOME, "plugins", `resource-kubernetes-v${version}`))) return;
    execFileSync(
        path.join(TOOLCHAIN, "bin", "pulumi"),
        ["plugin", "install", "resource", "kubernetes", version, "--file", path.join(TOOLCHAIN, "plugins", "pulumi-resource-kubernetes")],
        { env: { ...process.env, ...env }, stdio: "inherit" },
    );
}

/** The Pulumi CLI the toolchain built. */
export function localPulumi(): Promise<PulumiCommand> {
    return PulumiCommand.get({ root: TOOLCHAIN, skipVersionCheck: true });
}

/**
 * Selects (or creates) the stack of one site, with access to that site's local cluster: `<site>`,
 * or in environment `env` `<env>-<site>` with plumr:environment set.
 */
export async function siteStack(deployment: LocalDeployment, cluster: ClusterSpec, env?: string): Promise<Stack> {
    const pulumiCommand = await localPulumi();
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: environmentSiteStack(env, cluster.name), workDir: deployment.projectDir },
        { envVars: deployment.env, pulumiCommand },
    );
    if (env) await stack.setConfig("plumr:environment", { value: env });
    await stack.setConfig(`plumr:access.${cluster.name}.kubeconfig`, { value: kubeconfigPath(cluster), secret: true }, true);
    await stack.setConfig(`plumr:access.${cluster.name}.context`, { value: cluster.name }, true);
    return stack;
}

/**
 * `pulumi preview` with checkpoints off. A preview persists nothing, yet by default the CLI still
 * serializes the whole snapshot, and encrypts its secrets again, after every step: work that grows
 * with the square of the number of resources (see docs/BENCHMARKS.md, Scale). Never for up or
 * destroy: their checkpoints are the state.
 */
export async function preview(stack: Stack, options: PreviewOptions = {}): Promise<PreviewResult> {
    const env = stack.workspace.envVars;
    env.PULUMI_SKIP_CHECKPOINTS = "true";
    try {
        return await stack.preview(options);
    } finally {
        delete env.PULUMI_SKIP_CHECKPOINTS;
    }
}
