// Validates rendered Kubernetes objects against the OpenAPI schema of the oldest Kubernetes
// version the program supports, taken from the published k8s.io/kubernetes Go module.
import Ajv, { ValidateFunction } from "ajv";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import versions from "../../dev/toolchain/versions.json";

function goBinary(): string {
    return fs.existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
}

/** Path of swagger.json of Kubernetes `version`, downloading the module once into Go's cache. */
export function swaggerPath(version = versions.kubernetesOldestSupported): string {
    const out = execFileSync(goBinary(), ["mod", "download", "-json", `k8s.io/kubernetes@v${version}`], {
        encoding: "utf8",
        env: { ...process.env, GOFLAGS: "-mod=mod" },
        cwd: "/",
        timeout: 300_000,
    });
    return path.join(JSON.parse(out).Dir, "api", "openapi-spec", "swagger.json");
}

/**
 * Strict like `kubectl --validate=strict`: an object definition with properties accepts no other
 * keys, so a misspelt field fails instead of being dropped by the API server.
 */
function strict(definitions: Record<string, any>): void {
    for (const def of Object.values(definitions)) {
        if (def.properties && def.additionalProperties === undefined) def.additionalProperties = false;
    }
    // IntOrString is an integer or a string; swagger 2 can only call it a string with a format.
    definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = { anyOf: [{ type: "string" }, { type: "integer" }] };
}

/** A CRD's schema made strict the same way: every object schema with properties, at any depth, accepts no other keys. */
function closed(schema: any): any {
    if (schema && typeof schema === "object") {
        if (schema.properties && schema.additionalProperties === undefined) schema.additionalProperties = false;
        for (const value of Object.values(schema)) closed(value);
    }
    return schema;
}

export class KubernetesSchemas {
    private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    private readonly byKind = new Map<string, string>();
    private readonly compiled = new Map<string, ValidateFunction>();

    constructor(
        swaggerFile = swaggerPath(),
        crdFiles = ["network-attachment-definition-crd.yaml", "security-context-constraints-crd.yaml"].map((file) =>
            path.join(__dirname, "..", "..", "dev", "manifests", file),
        ),
    ) {
        const swagger = JSON.parse(fs.readFileSync(swaggerFile, "utf8"));
        strict(swagger.definitions);
        this.ajv.addSchema({ definitions: swagger.definitions }, "k8s");
        for (const [name, def] of Object.entries<any>(swagger.definitions)) {
            for (const gvk of def["x-kubernetes-group-version-kind"] ?? []) {
                this.byKind.set(this.key(gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version, gvk.kind), `k8s#/definitions/${name}`);
            }
        }
        for (const file of crdFiles) {
            const crd = YAML.parse(fs.readFileSync(file, "utf8"));
            for (const version of crd.spec.versions) {
                const id = `crd:${crd.spec.group}/${version.name}/${crd.spec.names.kind}`;
                this.ajv.addSchema(closed(structuredClone(version.schema.openAPIV3Schema)), id);
                this.byKind.set(this.key(`${crd.spec.group}/${version.name}`, crd.spec.names.kind), id);
            }
        }
    }

    private key(apiVersion: string, kind: string): string {
        return `${apiVersion}|${kind}`;
    }

    /** The schema errors of `object`, as readable lines; empty when it is valid. */
    validate(object: any): string[] {
        const ref = this.byKind.get(this.key(object.apiVersion, object.kind));
        if (!ref) return [`no schema for ${object.apiVersion} ${object.kind}`];
        let validate = this.compiled.get(ref);
        if (!validate) {
            validate = this.ajv.getSchema(ref)!;
            this.compiled.set(ref, validate);
        }
        if (validate(object)) return [];
        return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
    }
}
