// The program's stacks on the local clusters, through the Pulumi Automation API with a local file
// backend: shared by `npm run demo` and the end-to-end tests.
import { LocalWorkspace, PreviewOptions, PreviewResult, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import versions from "../toolchain/versions.json";
import { ClusterSpec, kubeconfigPath } from "./localClusters";
import { localImages } from "./nodeConfig";
import { readProjectFile, SHIPPED_PROJECT, topologyIn } from "../lib/topologyFile";

const ROOT = path.join(__dirname, "..");
const TOOLCHAIN = process.env.PLUMR_TOOLCHAIN_DIR ?? path.join(ROOT, ".cache", "toolchain");

/** Where one local deployment keeps its project, state and Pulumi home. */
export interface LocalDeployment {
    /** Directory of the generated Pulumi.yaml (its `main` is the repository's program). */
    projectDir: string;
    stateDir: string;
    /** The environment every Pulumi command of this deployment runs with. */
    env: Record<string, string>;
}

/**
 * Makes a local copy of the project whose topology is the shipped one with three local changes,
 * said in its Pulumi.yaml: the sites are not on AWS here (routing: none), the binaries are the
 * stand-ins of stand-ins/ (copied, so that a test may change them), and the images are the ones
 * built from Debian packages and imported into the real nodes (scripts/images.sh). `edit` may
 * change the topology further (tests do).
 */
export function prepareLocalDeployment(name: string, edit: (topology: any) => void = () => {}): LocalDeployment {
    const base = path.join(ROOT, ".cache", name);
    const projectDir = path.join(base, "project");
    const stateDir = path.join(base, "state");
    const binariesDir = path.join(base, "stand-in-binaries");
    for (const dir of [projectDir, stateDir, binariesDir, path.join(base, "pulumi-home")]) fs.mkdirSync(dir, { recursive: true });
    for (const binary of ["plumr", "shm_printer"]) fs.copyFileSync(path.join(ROOT, "stand-ins", binary), path.join(binariesDir, binary));
    const images = localImages();
    const project = readProjectFile(SHIPPED_PROJECT);
    const topology = topologyIn(project, SHIPPED_PROJECT);
    for (const site of Object.values<any>(topology.sites)) {
        if (site.aws) site.aws = { region: site.aws.region, routing: "none" };
        site.sidecarImage = images.tools.name;
        site.workload = { ...site.workload, image: images.tools.name };
    }
    topology.binaries.dir = binariesDir;
    topology.binaries.installerImage = images.installer.name;
    topology.configTemplate = path.join(ROOT, topology.configTemplate);
    topology.allocations = path.join(ROOT, topology.allocations ?? "plumr/allocations.json");
    edit(topology);
    project.main = path.relative(projectDir, ROOT);
    const header =
        "# Generated for a local deployment from the repository's Pulumi.yaml: routing none, stand-in binaries (stand-ins/),\n" +
        "# images built from Debian packages (scripts/images.sh).\n";
    fs.writeFileSync(path.join(projectDir, "Pulumi.yaml"), header + YAML.stringify(project));
    const env: Record<string, string> = {
        PATH: `${path.join(TOOLCHAIN, "bin")}:${process.env.PATH}`,
        PULUMI_HOME: path.join(base, "pulumi-home"),
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "plumr-local",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    };
    installProviderPlugin(env);
    return { projectDir, stateDir, env };
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

/** Selects (or creates) the stack of one site, with access to that site's local cluster. */
export async function siteStack(deployment: LocalDeployment, cluster: ClusterSpec): Promise<Stack> {
    const pulumiCommand = await localPulumi();
    const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: cluster.name, workDir: deployment.projectDir },
        { envVars: deployment.env, pulumiCommand },
    );
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
