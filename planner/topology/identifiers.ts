// The rules of the places names end up in: Kubernetes names and label values, Linux interface
// names, image references, paths on the nodes, stack names. Each check returns what is wrong and
// how to fix it (and where in the value, for long ones), or undefined when the value is fine.
import * as path from "path";
import type { Finding } from "../problems/errors";

const WHITESPACE = /\s/;

/** The first whitespace or control character, which no identifier may hold; copy-paste often brings one. */
function strayCharacter(value: string): Finding | undefined {
    const at = [...value].findIndex((c) => WHITESPACE.test(c) || c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127);
    if (at < 0) return undefined;
    const what = value[at] === " " ? "a space" : `the character ${JSON.stringify(value[at])}`;
    const where = at === 0 ? "at its start" : at === value.length - 1 ? "at its end" : `at character ${at + 1}`;
    return { message: `has ${what} ${where}`, fix: `remove it: ${JSON.stringify(value.trim().replace(/\s+/g, "-"))}`, at };
}

/** `value` made into a DNS label, as a suggestion. */
function asLabel(value: string): string {
    return (
        value
            .toLowerCase()
            .replace(/[^a-z0-9-]+/g, "-")
            .replace(/^-+|-+$/g, "") || "plumr"
    );
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * A DNS label (RFC 1123) of at most `max` characters: what Kubernetes requires of namespace names
 * and of the parts of object names that site and link names become.
 */
export function dnsLabel(value: string, what: string, max: number): Finding | undefined {
    if (value.length > max) {
        return { message: `${what} must be at most ${max} characters (it has ${value.length})`, fix: "shorten it", at: max };
    }
    if (!DNS_LABEL.test(value)) {
        const at = [...value].findIndex((c, i) => !/[a-z0-9-]/.test(c) || (c === "-" && (i === 0 || i === value.length - 1)));
        return {
            message: `${what} must be lower-case letters, digits and '-', starting and ending with a letter or digit`,
            fix: value === "" ? "write a name, e.g. plumr" : `rename it, e.g. ${asLabel(value)}`,
            ...(at >= 0 && { at }),
        };
    }
    return undefined;
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * A label key as Kubernetes takes it: an optional DNS subdomain prefix of at most 253 characters
 * and a `/`, then a name of at most 63 letters, digits, '-', '_' and '.', starting and ending with
 * a letter or digit (node-role.kubernetes.io/plumr, eks.amazonaws.com/nodegroup).
 */
export function labelKey(value: string): Finding | undefined {
    const stray = strayCharacter(value);
    if (stray) return stray;
    const slash = value.lastIndexOf("/");
    const [prefix, name] = slash < 0 ? [undefined, value] : [value.slice(0, slash), value.slice(slash + 1)];
    if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
        return {
            message: "the part before '/' must be a DNS subdomain (lower-case letters, digits, '-' and '.')",
            fix: "write the key as the nodes carry it (kubectl get nodes --show-labels), e.g. node-role.kubernetes.io/plumr",
        };
    }
    if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name)) {
        return {
            message:
                "the name (after any '/') must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            fix: "write the key as the nodes carry it (kubectl get nodes --show-labels), e.g. node-role.kubernetes.io/plumr",
        };
    }
    return undefined;
}

/** A label value as Kubernetes takes it: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit. */
export function labelValue(value: string): Finding | undefined {
    if (value === "") return undefined;
    if (value.length > 63 || !LABEL_NAME.test(value)) {
        return {
            message: "a label value is empty or 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            fix: 'write the value as the nodes carry it (kubectl get nodes --show-labels); "" matches a label without a value',
        };
    }
    return undefined;
}

const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * The name of a container's environment variable, as the API server of Kubernetes 1.29 takes it:
 * letters, digits, '_', '-' and '.', not starting with a digit. `PLUMR_*` are the program's own.
 */
export function envVarName(value: string): Finding | undefined {
    if (!ENV_VAR_NAME.test(value)) {
        const at = [...value].findIndex((c, i) => !/[-._a-zA-Z0-9]/.test(c) || (i === 0 && /[0-9]/.test(c)));
        return {
            message: "an environment variable's name is letters, digits, '_', '-' and '.', and does not start with a digit",
            fix: `rename it, e.g. ${value.replace(/[^-._a-zA-Z0-9]+/g, "_").replace(/^([0-9])/, "_$1") || "LOG_LEVEL"}`,
            ...(at >= 0 && { at }),
        };
    }
    if (value.startsWith("PLUMR_")) {
        return {
            message: "the PLUMR_* variables are the program's: it sets them to tell the workload its links and peers",
            fix: "give the variable a name of your own, without the PLUMR_ prefix",
        };
    }
    return undefined;
}

/**
 * A container port's name, as the API server takes it (an IANA service name; empty is no name): at most 15
 * lower-case letters, digits and '-', with at least one letter, not starting or ending with '-'
 * and without '--'.
 */
export function portName(value: string): Finding | undefined {
    const fix = `rename it, e.g. ${asLabel(value).replace(/-+/g, "-").slice(0, 15).replace(/-$/, "") || "rtsp"}`;
    if (value.length === 0) return undefined;
    if (value.length > 15) return { message: "a port name is at most 15 characters", fix };
    if (!/^[a-z0-9-]+$/.test(value) || value.startsWith("-") || value.endsWith("-") || value.includes("--")) {
        return { message: "a port name is lower-case letters, digits and single '-' between them", fix };
    }
    if (!/[a-z]/.test(value)) return { message: "a port name has at least one letter (a number alone would read as the port)", fix };
    return undefined;
}

const STANDARD_RESOURCES = ["cpu", "memory", "ephemeral-storage"];

/** A compute resource's name: cpu, memory, ephemeral-storage, hugepages-<size>, or an extended resource with its domain (nvidia.com/gpu). */
export function resourceName(value: string): Finding | undefined {
    if (STANDARD_RESOURCES.includes(value) || /^hugepages-[0-9]+(Ki|Mi|Gi)?$/.test(value)) return undefined;
    if (value.includes("/") && labelKey(value) === undefined) return undefined;
    return {
        message:
            "not a compute resource Kubernetes knows: cpu, memory, ephemeral-storage, hugepages-<size>, or an extended resource named with its domain",
        fix: /^(CPU|Cpu|cpus)$/.test(value)
            ? "write it as cpu"
            : /^(Memory|mem|MEMORY)$/.test(value)
              ? "write it as memory"
              : "use cpu or memory, or the extended resource's full name, e.g. nvidia.com/gpu",
    };
}

const QUANTITY = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const DECIMAL_EXPONENT: Record<string, number> = { "": 0, n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXPONENT: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

/**
 * The value of a quantity as Kubernetes writes it (500m, 1.5, 256Mi, 1e3), in thousandths and
 * rounded up to one, as the API server stores a container's resources (0.1m is 1m); undefined
 * when it is not a quantity. Exact: 0.3 is 300, not 300.00000000000006.
 */
export function quantityMillis(value: string): bigint | undefined {
    const match = QUANTITY.exec(value);
    if (!match) return undefined;
    const [, sign, whole, fraction = "", suffix = ""] = match;
    if (whole === "" && fraction === "") return undefined;
    const exponent = /^[eE][+-]?[0-9]/.test(suffix) ? Number(suffix.slice(1)) : (DECIMAL_EXPONENT[suffix] ?? 0);
    if (Math.abs(exponent) > 100) return undefined;
    // value = digits / 10^fraction.length * 10^exponent * 2^binary; in thousandths, * 1000.
    let numerator = BigInt(`${whole}${fraction}` || "0") * 1000n * 2n ** BigInt(BINARY_EXPONENT[suffix] ?? 0);
    let denominator = 10n ** BigInt(fraction.length);
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
    const millis = (numerator + denominator - 1n) / denominator;
    return sign === "-" ? -millis : millis;
}

/** A resource quantity as the API server takes it for a container: a number with an optional suffix, not negative. */
export function quantity(value: string): Finding | undefined {
    const parsed = quantityMillis(value);
    if (parsed === undefined) {
        return {
            message: "not a quantity: a number, and optionally a suffix (m, k, M, G, Ki, Mi, Gi, ...) with no space",
            fix: 'write it as Kubernetes does, e.g. "500m" (half a CPU) or 256Mi',
        };
    }
    if (parsed < 0n) return { message: "a resource quantity cannot be negative", fix: "write a quantity of 0 or more" };
    return undefined;
}

/** Namespaces of the cluster itself: plumr must not label them privileged or put its pods there. */
export function reservedNamespace(value: string): Finding | undefined {
    const reserved = ["default", "kube-system", "kube-public", "kube-node-lease", "openshift"];
    if (reserved.includes(value) || /^(kube|openshift)-/.test(value)) {
        return {
            message:
                "a namespace of the cluster itself: the program labels its namespace to enforce the privileged Pod Security " +
                "level, which would lift it for everything already there, and deletes the namespace when the stack is destroyed",
            fix: "use a namespace of plumr's own, e.g. plumr",
        };
    }
    return undefined;
}

/**
 * A node name as the endpoints' node selectors and the installer's node affinity use it: the
 * `kubernetes.io/hostname` label value, so a lower-case DNS name of at most 63 characters.
 */
export function nodeName(value: string): Finding | undefined {
    const stray = strayCharacter(value);
    if (stray) {
        return { ...stray, fix: `${stray.fix}; write the name as kubectl get nodes shows it` };
    }
    if (value.length > 63) {
        return {
            message: `is ${value.length} characters: the node's kubernetes.io/hostname label, which the pods are pinned by, holds at most 63`,
            fix: "write the node's kubernetes.io/hostname label (kubectl get nodes -L kubernetes.io/hostname)",
            at: 63,
        };
    }
    const upper = value.search(/[A-Z]/);
    if (upper >= 0) {
        return {
            message: "has upper-case letters: node names are lower-case",
            fix: `write it as kubectl get nodes shows it, e.g. ${value.toLowerCase()}`,
            at: upper,
        };
    }
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value)) {
        const at = [...value].findIndex((c) => !/[a-z0-9.-]/.test(c));
        return {
            message:
                "not a node name: lower-case letters, digits, '-' and '.', each part between dots starting and ending with a letter or digit",
            fix: "write the node's name as kubectl get nodes shows it, e.g. ip-10-0-154-10.us-east-2.compute.internal",
            ...(at >= 0 && { at }),
        };
    }
    return undefined;
}

/**
 * A Linux network interface name: at most 15 characters (IFNAMSIZ), not `.` or `..`. Limited to
 * letters, digits, `_`, `.` and `-`, not starting with `-`: the tun device's name is also part of
 * the sidecar's probe command.
 */
export function interfaceName(value: string, what: string): Finding | undefined {
    const stray = strayCharacter(value);
    if (stray) return stray;
    if (value === "") return { message: `empty: ${what} needs a name`, fix: "write a name, e.g. tun" };
    if (value.length > 15) {
        return {
            message: `${what} must be at most 15 characters (Linux's limit for interface names); it has ${value.length}`,
            fix: `shorten it, e.g. ${value.slice(0, 15).replace(/[-.]+$/, "")}`,
            at: 15,
        };
    }
    const at = [...value].findIndex((c, i) => !/[A-Za-z0-9_.-]/.test(c) || (i === 0 && c === "-"));
    if (at >= 0 || value === "." || value === "..") {
        return {
            message: `not a usable interface name: letters, digits, '_', '.' and '-' (not first), and not . or ..`,
            fix: "rename it, e.g. tun",
            ...(at >= 0 && { at }),
        };
    }
    return undefined;
}

/** The shared-memory name `shm_printer --name` reads: a file name in /dev/shm, passed as one argument. */
export function sharedMemoryName(value: string): Finding | undefined {
    const stray = strayCharacter(value);
    if (stray) return stray;
    const at = [...value].findIndex((c, i) => !/[A-Za-z0-9_.-]/.test(c) || (i === 0 && c === "-"));
    if (value === "" || value.length > 200 || at >= 0 || value === "." || value === "..") {
        return {
            message:
                "not a shared-memory name: 1 to 200 letters, digits, '_', '.' and '-' (not first), as plumr publishes its metrics under",
            fix: "write the name plumr publishes its metrics under, e.g. plumr_metrics",
            ...(at >= 0 && { at }),
        };
    }
    return undefined;
}

// An image reference, as the container runtimes parse it (the distribution/reference grammar).
const ALNUM = "[a-z0-9]+";
const PATH_COMPONENT = `${ALNUM}(?:(?:[._]|__|-+)${ALNUM})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const IMAGE = new RegExp(
    `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);

/** An image reference: `[registry[:port]/]repository[:tag][@digest]`. */
export function imageReference(value: string): Finding | undefined {
    const example = "quay.io/dosmith/fedora-vlc-iptools:gen2";
    const stray = strayCharacter(value);
    if (stray) return stray;
    const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value);
    if (scheme) {
        return {
            message: `starts with ${scheme[0]}: an image reference has no scheme`,
            fix: `remove it: ${value.slice(scheme[0].length)}`,
            at: 0,
        };
    }
    if (IMAGE.test(value)) return undefined;
    const name = value.split("@")[0].replace(/:[\w][\w.-]*$/, "");
    const repository = name.includes("/") && /[.:]|^localhost$/.test(name.split("/")[0]) ? name.slice(name.indexOf("/") + 1) : name;
    const upper = repository.search(/[A-Z]/);
    if (upper >= 0) {
        return {
            message: "has upper-case letters in its repository: image repositories are lower-case",
            fix: `write the repository in lower case (the tag may keep its case), e.g. ${value.replace(repository, repository.toLowerCase())}`,
            at: value.indexOf(repository) + upper,
        };
    }
    return {
        message: "not an image reference",
        fix: `write it as [registry/]repository[:tag][@sha256:digest], e.g. ${example}`,
    };
}

/**
 * Directories the installer must never write into: the host's own system and configuration, its
 * kernel interfaces and the cluster's components. The installer replaces files in its directory
 * and every endpoint pod mounts it, so the directory must be plumr's own.
 */
const SYSTEM_TREES = [
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var/run",
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/var/lib/containers",
    "/var/lib/docker",
    "/var/lib/etcd",
    "/var/lib/cni",
    "/var/lib/rpm",
    "/var/lib/dpkg",
    "/opt/cni",
];
/** Directories that hold many other things: a directory of plumr's own inside them is fine, they themselves are not. */
const SHARED_DIRECTORIES = ["/", "/home", "/root", "/tmp", "/var", "/var/lib", "/var/log", "/var/tmp", "/opt", "/mnt", "/media", "/srv"];
/** What the local installations of software use, which RHCOS keeps under /var. */
const ALLOWED_UNDER_USR = ["/usr/local"];

export const DEFAULT_HOST_PATH = "/var/lib/plumr/bin";

/** A directory on every node that the cluster owns (such as Multus's plugin directory): absolute and normalized. */
export function absoluteDirectory(value: string): Finding | undefined {
    const stray = strayCharacter(value);
    if (stray) return stray;
    if (!value.startsWith("/"))
        return {
            message: "a relative path: a node's directory is written from the root",
            fix: "write it from the root, e.g. /opt/cni/bin",
            at: 0,
        };
    const normalized = path.posix.normalize(value).replace(/(.)\/+$/, "$1");
    if (normalized !== value) return { message: `not a normalized path: it means ${normalized}`, fix: `write ${normalized}` };
    const bad = [...value].findIndex((c) => !/[A-Za-z0-9._+@/-]/.test(c));
    if (bad >= 0)
        return {
            message: "has a character outside letters, digits and . _ + @ - /",
            fix: "write a plain directory, e.g. /opt/cni/bin",
            at: bad,
        };
    return undefined;
}

/** A directory on every node: absolute, normalized, and not a system directory. */
export function nodeDirectory(value: string): Finding | undefined {
    const stray = strayCharacter(value);
    if (stray) return stray;
    if (!value.startsWith("/")) {
        return {
            message: "a relative path: the installer needs an absolute directory on the node",
            fix: `write it from the root, e.g. ${DEFAULT_HOST_PATH}`,
            at: 0,
        };
    }
    const normalized = path.posix.normalize(value).replace(/(.)\/+$/, "$1");
    if (normalized !== value) {
        const at = value.search(/\/\/|\/\.\.?(\/|$)|.\/$/);
        const usable = nodeDirectory(normalized) === undefined;
        return {
            message: `not a normalized path: it means ${normalized}`,
            fix: usable ? `write ${normalized}` : `write a directory of plumr's own, e.g. ${DEFAULT_HOST_PATH}`,
            ...(at >= 0 && { at }),
        };
    }
    const bad = [...value].findIndex((c) => !/[A-Za-z0-9._+@/-]/.test(c));
    if (bad >= 0) {
        return {
            message: "has a character outside letters, digits and . _ + @ - /",
            fix: `write a plain directory, e.g. ${DEFAULT_HOST_PATH}`,
            at: bad,
        };
    }
    const within = (tree: string) => value === tree || value.startsWith(`${tree}/`);
    const tree = SYSTEM_TREES.find(within);
    const allowed = ALLOWED_UNDER_USR.some((dir) => value.startsWith(`${dir}/`) && !SHARED_DIRECTORIES.includes(value));
    if ((tree && !allowed) || SHARED_DIRECTORIES.includes(value) || ["/usr/local", "/usr/local/bin", "/usr/local/sbin"].includes(value)) {
        return {
            message:
                `${tree && !allowed ? `inside ${tree}, ` : ""}a system directory the installer must never write into: it replaces files ` +
                "in this directory on every node, and every endpoint pod mounts it",
            fix: `use a directory of plumr's own, e.g. ${DEFAULT_HOST_PATH}`,
        };
    }
    return undefined;
}

/** A Pulumi stack name as a StackReference takes it: `[<organization>/][<project>/]<stack>`. */
export function stackName(value: string): Finding | undefined {
    const stray = strayCharacter(value);
    if (stray) return stray;
    const parts = value.split("/");
    const at = [...value].findIndex((c) => !/[A-Za-z0-9_.\-/]/.test(c));
    if (parts.length > 3 || parts.some((p) => p === "" || p.length > 100) || at >= 0) {
        return {
            message: "not a stack name: <organization>/<project>/<stack>, each part letters, digits, '-', '_' and '.'",
            fix: "write the full name of the stack that deploys the site, e.g. acme/plumr/mumbai (pulumi stack ls shows it)",
            ...(at >= 0 && { at }),
        };
    }
    return undefined;
}

/** An AWS profile name as the AWS CLI and SDK read it from ~/.aws/config. */
export function awsProfileName(value: string): Finding | undefined {
    const stray = strayCharacter(value);
    if (stray) return stray;
    const at = [...value].findIndex((c) => !/[A-Za-z0-9_.+@=,-]/.test(c));
    if (value === "" || at >= 0) {
        return {
            message: "not an AWS profile name",
            fix: "write the name of a profile in ~/.aws/config (aws configure list-profiles), e.g. ohio",
            ...(at >= 0 && { at }),
        };
    }
    return undefined;
}

/** The partitions of AWS an IAM role's ARN may name. */
const AWS_PARTITIONS = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

/** An IAM role's ARN, as the AWS provider assumes it: `arn:<partition>:iam::<account>:role/<path/><name>`. */
export function awsRoleArn(value: string): Finding | undefined {
    const stray = strayCharacter(value);
    if (stray) return stray;
    const example = "arn:aws:iam::123456789012:role/plumr-deployer";
    const parts = value.split(":");
    if (parts.length < 6 || parts[0] !== "arn") {
        return {
            message: "not an ARN: arn:<partition>:iam::<account>:role/<name>",
            fix: `write the role's ARN (aws iam get-role --role-name <name>), e.g. ${example}`,
        };
    }
    const [, partition, service, region, account] = parts;
    const resource = parts.slice(5).join(":");
    if (!AWS_PARTITIONS.includes(partition)) {
        return {
            message: `unknown partition ${JSON.stringify(partition)}: AWS has ${AWS_PARTITIONS.join(", ")}`,
            fix: `write the role's ARN as IAM shows it, e.g. ${example}`,
        };
    }
    if (service !== "iam" || region !== "") {
        return {
            message: "not an IAM ARN: a role's ARN is arn:<partition>:iam::<account>:role/<name>, with no region",
            fix: `write the role's ARN as IAM shows it, e.g. ${example}`,
        };
    }
    if (!/^\d{12}$/.test(account)) {
        return {
            message: `the account ${JSON.stringify(account)} is not 12 digits`,
            fix: `write the account id of the role, 12 digits, e.g. ${example}`,
        };
    }
    const match = /^role(\/(?:[\x21-\x7e]*\/)?)?([\w+=,.@-]{1,64})?$/.exec(resource);
    if (!resource.startsWith("role/") || !match?.[2] || resource.length > 5 + 512 + 64) {
        return {
            message: "not a role: the ARN's resource is role/<name> (or role/<path>/<name>), the name letters, digits and + = , . @ _ -",
            fix: `write the ARN of an IAM role, not of a user or policy, e.g. ${example}`,
        };
    }
    return undefined;
}

/** A duration as Prometheus writes one (a rule's `for`): units from the largest down, e.g. 5m, 1h30m, 90s. */
export function prometheusDuration(value: string): Finding | undefined {
    if (/^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/.test(value) && /[1-9]/.test(value)) return undefined;
    return {
        message: "a duration is whole numbers of units, the largest first (y, w, d, h, m, s, ms), and not zero",
        fix: "write it as Prometheus does, e.g. 5m, 90s or 1h30m",
    };
}
