// The local files the topology points at, checked for what they must hold: the allocations file,
// the plumr config template, the binaries and the CNI plugins, packaged for shipping.
import * as path from "path";
import { Problems } from "../problems/errors";
import { fieldPath, Topology } from "../topology/schema";
import { BINARY_NAMES, BinaryPackage, CHUNK_BYTES, CNI_PLUGINS_OF, CniPluginName, packageBinary } from "./binaries";
import { inspectExecutable } from "./executables";
import { LocalFiles, pathKindProblem } from "./localFiles";
import { checkTemplateText, PLACEHOLDERS, TemplateValues, unknownPlaceholders } from "./template";

/** What the local files give the plan: the template's text, and the binaries and CNI plugins as they ship. */
export interface CheckedFiles {
    template: string;
    packages: BinaryPackage[];
    cniPackages: BinaryPackage[];
}

/**
 * A binary's package, made once per content: a stack that deploys a pool plans again once its
 * clusters are read, and a binary's checksum and gzip take a moment each time.
 */
const packagedBinaries = new WeakMap<Buffer, BinaryPackage>();
function packaged(name: BinaryPackage["name"], content: Buffer, files: LocalFiles): BinaryPackage {
    let found = packagedBinaries.get(content);
    if (!found || found.name !== name) packagedBinaries.set(content, (found = packageBinary(name, content, CHUNK_BYTES, files.compress)));
    return found;
}

/** Checks every local file the topology points at; what is wrong goes to `problems`. */
export function checkLocalFiles(topology: Topology, files: LocalFiles, problems: Problems): CheckedFiles {
    checkAllocationsFile(files, problems, topology);
    return {
        template: checkTemplate(files, problems, topology),
        packages: packageBinaries(files, problems, topology),
        cniPackages: packageCniPlugins(files, problems, topology),
    };
}

/** The allocations file is a file, when there is one (npm run allocate creates it). */
function checkAllocationsFile(files: LocalFiles, problems: Problems, topology: Topology): void {
    const kind = files.kinds?.allocations;
    const problem = kind === "missing" ? undefined : pathKindProblem(kind, files.allocationsPath, "file");
    if (problem) {
        problems.add(
            fieldPath(["allocations"]),
            topology.allocations,
            problem,
            kind === "directory"
                ? `point allocations at a file, e.g. ${path.posix.join(topology.allocations, "allocations.json")} (npm run allocate creates it)`
                : "point allocations at a readable file (npm run allocate creates it when there is none)",
        );
    }
}

function checkTemplate(files: LocalFiles, problems: Problems, topology: Topology): string {
    const field = fieldPath(["configTemplate"]);
    if (files.template === undefined) {
        const kind = files.kinds?.template ?? "missing";
        problems.add(
            field,
            topology.configTemplate,
            pathKindProblem(kind, files.templatePath, "file") ?? `no such file: nothing is at ${files.templatePath}`,
            kind === "directory"
                ? `point configTemplate at the template file itself, e.g. ${path.posix.join(topology.configTemplate, "config.template.json")}`
                : "point configTemplate at your plumr config template (docs/CONFIGURATION.md explains its placeholders)",
        );
        return "";
    }
    for (const unknown of unknownPlaceholders(files.template)) {
        problems.add(
            field,
            topology.configTemplate,
            `line ${unknown.line} uses the unknown placeholder {{${unknown.name}}}`,
            `use one of ${Object.keys(PLACEHOLDERS)
                .map((p) => `{{${p}}}`)
                .join(", ")}`,
        );
    }
    // Sample values like the plan's: the template must parse with them whatever the addresses are.
    const { port, device, prefixLength, mtu } = topology.tunnel;
    const sample: TemplateValues = {
        LINK: topology.links[0]?.name ?? "ohio-mumbai",
        LOCAL_IP: "10.10.1.200",
        REMOTE_IP: "10.20.1.200",
        LOCAL_PORT: port,
        REMOTE_PORT: port,
        TUN_NAME: device,
        TUN_IP: "10.4.0.1",
        TUN_PREFIX: prefixLength,
        REMOTE_TUN_IP: "10.4.0.2",
        MTU: mtu,
    };
    for (const finding of checkTemplateText(files.template, files.templatePath, sample)) {
        problems.add(field, topology.configTemplate, finding.message, finding.fix);
    }
    return files.template;
}

function packageBinaries(files: LocalFiles, problems: Problems, topology: Topology): BinaryPackage[] {
    const field = fieldPath(["binaries", "dir"]);
    const dirKind = files.kinds?.binariesDir;
    const dirProblem = pathKindProblem(dirKind, files.binariesDir, "directory");
    if (dirProblem) {
        const isBinary = (BINARY_NAMES as readonly string[]).includes(path.basename(files.binariesDir));
        problems.add(
            field,
            topology.binaries.dir,
            `${dirProblem}; binaries.dir is the directory that holds plumr and shm_printer`,
            dirKind === "missing"
                ? `create it (mkdir -p ${files.binariesDir}) and copy the plumr and shm_printer binaries you received from Steinwurf into it, or point binaries.dir at the directory that holds them`
                : isBinary && dirKind === "file"
                  ? `set binaries.dir to ${path.posix.dirname(topology.binaries.dir)}, the directory that holds it`
                  : "point binaries.dir at the directory that holds plumr and shm_printer",
        );
        return [];
    }
    const packages: BinaryPackage[] = [];
    for (const name of BINARY_NAMES) {
        const file = `${files.binariesDir}/${name}`;
        const content = files.binaries[name];
        if (!content) {
            const kind = files.kinds?.binaries[name] ?? "missing";
            problems.add(
                field,
                topology.binaries.dir,
                `the ${name} binary is missing: ${kind === "missing" ? `no file ${file}` : pathKindProblem(kind, file, "file")}`,
                kind === "directory"
                    ? `replace the directory ${file} with the ${name} binary you received from Steinwurf`
                    : `copy the ${name} binary you received from Steinwurf into ${files.binariesDir}`,
            );
            continue;
        }
        const finding = inspectExecutable(content, topology.binaries.architecture, name, file);
        if (finding) {
            problems.add(field, topology.binaries.dir, `${file} ${finding.message}`, finding.fix);
        } else {
            packages.push(packaged(name, content, files));
        }
    }
    return packages;
}

/** The CNI plugins the sites' attachments need, in the order of CNI_PLUGINS_OF. */
function neededCniPlugins(topology: Topology): CniPluginName[] {
    const attachments = new Set(Object.values(topology.sites).map((site) => site.attachment));
    return [...new Set([...attachments].flatMap((attachment) => CNI_PLUGINS_OF[attachment]))];
}

/** The CNI plugins of binaries.cniPlugins that the attachments need, checked like the binaries. */
function packageCniPlugins(files: LocalFiles, problems: Problems, topology: Topology): BinaryPackage[] {
    const dir = files.cniPluginsDir;
    if (topology.binaries.cniPlugins === undefined || dir === undefined) return [];
    const field = fieldPath(["binaries", "cniPlugins"]);
    const dirProblem = pathKindProblem(files.kinds?.cniPluginsDir, dir, "directory");
    const needed = neededCniPlugins(topology);
    if (dirProblem) {
        problems.add(
            field,
            topology.binaries.cniPlugins,
            `${dirProblem}; binaries.cniPlugins is the directory that holds the CNI plugins ${needed.join(", ")}`,
            `put the ${needed.join(", ")} plugins of a containernetworking/plugins release (github.com/containernetworking/plugins/releases, cni-plugins-linux-${topology.binaries.architecture}) into ${dir}, or remove binaries.cniPlugins when every node has them`,
        );
        return [];
    }
    const packages: BinaryPackage[] = [];
    for (const name of needed) {
        const file = `${dir}/${name}`;
        const content = files.cniPlugins?.[name];
        if (!content) {
            const kind = files.kinds?.cniPlugins?.[name] ?? "missing";
            problems.add(
                field,
                topology.binaries.cniPlugins,
                `the ${name} CNI plugin is missing: ${kind === "missing" ? `no file ${file}` : pathKindProblem(kind, file, "file")}`,
                `copy ${name} from a containernetworking/plugins release (cni-plugins-linux-${topology.binaries.architecture}) into ${dir}`,
            );
            continue;
        }
        const finding = inspectExecutable(content, topology.binaries.architecture, `${name} CNI plugin`, file);
        if (finding) problems.add(field, topology.binaries.cniPlugins, `${file} ${finding.message}`, finding.fix);
        else packages.push(packaged(name, content, files));
    }
    return packages;
}
