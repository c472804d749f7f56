// What each endpoint pod exports about its links, and how it is named: shared by the pod spec, the
// monitoring objects, npm run verify and the tests, so that they all read the same numbers.
import type { EndPlan, EndpointPlan } from "../types";

/** The port, named `metrics`, on which each endpoint pod serves its links' metrics. */
export const METRICS_PORT = 9464;

/** The labels of the pods the PodMonitor scrapes: the site's endpoint pods. */
export const podMonitorSelector = () => ({ "app.kubernetes.io/part-of": "plumr", "app.kubernetes.io/component": "endpoint" });

/** How often the exporter probes each link: `plumr_link_up` follows a broken link within two of these. */
export const PROBE_INTERVAL_SECONDS = 10;
/** Echo requests per probe round, 0.2 s apart. */
export const PROBE_COUNT = 3;
/** The loss ratio is over this many rounds. */
export const PROBE_WINDOW = 10;

/**
 * The labels of one link end's metrics, as Prometheus's text format writes them: the link, this
 * end's site and its peer's, and for a named endpoint the endpoint and the peer's.
 */
export function metricLabels(endpoint: EndpointPlan, end: EndPlan, peer: { site: string; endpoint: string }): string {
    const pairs: [string, string][] = [
        ["link", end.link],
        ["site", endpoint.site],
        ["peer_site", peer.site],
    ];
    if (endpoint.named) pairs.push(["endpoint", endpoint.name], ["peer_endpoint", peer.endpoint]);
    return pairs.map(([name, value]) => `${name}="${value}"`).join(",");
}

/** One sample of the text format: its metric's name, its labels, its value. */
export interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

/** The samples of a page in Prometheus's text format (the exporter's: no escaped quotes in label values). */
export function parseMetrics(text: string): Sample[] {
    const samples: Sample[] = [];
    for (const line of text.split("\n")) {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
        if (!m) continue;
        const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
        samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
    return samples;
}

/** What a link end's metrics say, by the names a person reads. */
export interface LinkMetrics {
    up?: number;
    rttSeconds?: number;
    lossRatio?: number;
    probedAt?: number;
    receiveBytes?: number;
    transmitBytes?: number;
}

/** The metrics of one link's end among a page's samples. */
export function linkMetrics(samples: Sample[], link: string): LinkMetrics {
    const of = (name: string) => samples.find((s) => s.name === name && s.labels.link === link)?.value;
    return {
        up: of("plumr_link_up"),
        rttSeconds: of("plumr_link_rtt_seconds"),
        lossRatio: of("plumr_link_probe_loss_ratio"),
        probedAt: of("plumr_link_probe_timestamp_seconds"),
        receiveBytes: of("plumr_link_tun_receive_bytes_total"),
        transmitBytes: of("plumr_link_tun_transmit_bytes_total"),
    };
}

/** The API server's path to a pod's metrics, through its pod proxy (as `kubectl get --raw` takes it). */
export const metricsProxyPath = (namespace: string, pod: string) =>
    `/api/v1/namespaces/${namespace}/pods/${pod}:${METRICS_PORT}/proxy/metrics`;
