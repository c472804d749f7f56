// The links' alerts, as one Prometheus rule group per site: what the site's PrometheusRule holds,
// and what promtool's rule tests read (test/promtool/).
import { PROBE_INTERVAL_SECONDS } from "./metrics";

/** One alerting rule, as Prometheus's rule files and the PrometheusRule's groups write it. */
export interface AlertRule {
    alert: string;
    expr: string;
    for: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
}

/** What a site's alerts are made from: its name, its stack (the first command names it) and its thresholds. */
export interface AlertSettings {
    site: string;
    stack: string;
    /** How long a link stays down before PlumrLinkDown fires (a Prometheus duration). */
    linkDownFor: string;
    /** The loss ratio above which PlumrLinkLossHigh fires. */
    lossRatioAbove: number;
}

/** The exporter has not finished a probe round for this long: its probes are stale. */
export const STALE_AFTER_SECONDS = 6 * PROBE_INTERVAL_SECONDS;

/** The site's rule group: PlumrLinkDown, PlumrLinkLossHigh and PlumrLinkProbesStale over its own link ends. */
export function alertGroup(settings: AlertSettings): { name: string; rules: AlertRule[] } {
    const { site, stack } = settings;
    const of = `{site="${site}"}`;
    const link = "link {{ $labels.link }} from site {{ $labels.site }} to site {{ $labels.peer_site }}";
    const pod = "(pod {{ $labels.namespace }}/{{ $labels.pod }})";
    const verify = `npm run verify -- ${stack}`;
    return {
        name: `plumr-links-${site}`,
        rules: [
            {
                alert: "PlumrLinkDown",
                expr: `plumr_link_up${of} == 0`,
                for: settings.linkDownFor,
                labels: { severity: "critical" },
                annotations: {
                    summary: `plumr ${link} is down`,
                    description: `No probe through the tunnel of ${link} ${pod} has had a reply for ${settings.linkDownFor}. First run: ${verify} (it checks both ends: pods, plumr's restarts, the tun device, a ping through the tunnel).`,
                },
            },
            {
                alert: "PlumrLinkLossHigh",
                expr: `plumr_link_probe_loss_ratio${of} > ${settings.lossRatioAbove}`,
                for: "10m",
                labels: { severity: "warning" },
                annotations: {
                    summary: `plumr ${link} loses probes`,
                    description: `{{ $value | humanizePercentage }} of the recent probes through the tunnel of ${link} ${pod} got no reply (above ${settings.lossRatioAbove * 100}%). First run: ${verify}, then look at the underlay between the sites.`,
                },
            },
            {
                alert: "PlumrLinkProbesStale",
                expr: `time() - plumr_link_probe_timestamp_seconds${of} > ${STALE_AFTER_SECONDS}`,
                for: "5m",
                labels: { severity: "warning" },
                annotations: {
                    summary: `plumr ${link}: the metrics are stale`,
                    description: `The exporter of ${link} ${pod} has finished no probe round for over ${STALE_AFTER_SECONDS}s, so its metrics say nothing of the link now. First run: kubectl -n {{ $labels.namespace }} logs {{ $labels.pod }} -c metrics, then ${verify}.`,
                },
            },
        ],
    };
}
