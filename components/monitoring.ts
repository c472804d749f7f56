import { CustomResource } from "@pulumi/kubernetes/apiextensions/customResource";
import type { Provider } from "@pulumi/kubernetes/provider";
import * as pulumi from "@pulumi/pulumi";
import { alertGroup, AlertSettings } from "../planner/cluster/alerts";
import { podMonitorSelector } from "../planner/cluster/metrics";
import { labels } from "./meta";

export interface MonitoringArgs {
    /** The site's cluster and namespace. */
    provider: Provider;
    namespace: pulumi.Input<string>;
    /** The site's alerts: its name, its stack and its thresholds. */
    alerts: AlertSettings;
}

/** How often Prometheus scrapes each endpoint pod: the exporter probes every 10 s. */
const SCRAPE_INTERVAL = "30s";

/**
 * Where the users' Prometheus looks (the Prometheus operator's objects, on OpenShift's
 * user-workload monitoring as in kube-prometheus-stack): a PodMonitor that scrapes the `metrics`
 * port of the site's endpoint pods, and a PrometheusRule with the links' alerts.
 */
export class Monitoring extends pulumi.ComponentResource {
    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("plumr:site:Monitoring", name, {}, opts);
        const { provider, namespace } = args;
        new CustomResource(
            `${name}-pod-monitor`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PodMonitor",
                metadata: { name: "plumr-endpoints", namespace, labels: labels("monitoring") },
                spec: {
                    selector: { matchLabels: podMonitorSelector() },
                    podMetricsEndpoints: [{ port: "metrics", path: "/metrics", interval: SCRAPE_INTERVAL }],
                },
            },
            { provider, parent: this },
        );
        new CustomResource(
            `${name}-rules`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PrometheusRule",
                metadata: { name: "plumr-links", namespace, labels: labels("monitoring") },
                spec: { groups: [alertGroup(args.alerts)] },
            },
            { provider, parent: this },
        );
        this.registerOutputs({});
    }
}
