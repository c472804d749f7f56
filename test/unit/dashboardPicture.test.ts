// The drawing of the dashboard's picture (dev/local/dashboardPicture.ts): units as Grafana labels
// them, legends filled in from the series' labels, and every panel of the shipped dashboard drawn.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { formatValue, legendOf, PanelPicture, renderDashboard } from "../../dev/local/dashboardPicture";

describe("the dashboard's picture", () => {
    it("labels values in the panel's unit", () => {
        assert.strictEqual(formatValue(0.000376, "s"), "0.38 ms");
        assert.strictEqual(formatValue(2.5, "s"), "2.50 s");
        assert.strictEqual(formatValue(0.25, "percentunit"), "25.0%");
        assert.strictEqual(formatValue(383e6, "bps"), "383 Mb/s");
        assert.strictEqual(formatValue(12_000, "bps"), "12.0 kb/s");
        assert.strictEqual(formatValue(1, "none"), "1.00");
    });

    it("fills in a legend from the series' labels, as Grafana does", () => {
        assert.strictEqual(legendOf("{{site}} → {{peer_site}}", { site: "ohio", peer_site: "mumbai" }), "ohio → mumbai");
        assert.strictEqual(legendOf(undefined, { site: "ohio" }), 'site="ohio"');
    });

    it("draws every timeseries panel of the shipped dashboard where the dashboard places it, a line per series, and says where there is no data", () => {
        const dashboard = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "docs", "grafana-dashboard.json"), "utf8"));
        const panels: PanelPicture[] = (dashboard.panels as any[])
            .filter((p) => p.type === "timeseries")
            .map((p, i) => ({
                title: p.title,
                unit: p.fieldConfig?.defaults?.unit,
                gridPos: p.gridPos,
                series:
                    i === 0
                        ? []
                        : [
                              {
                                  legend: `series of ${p.title}`,
                                  points: [
                                      [100, 0],
                                      [110, i],
                                      [120, 2 * i],
                                  ],
                              },
                          ],
            }));
        const svg = renderDashboard(dashboard.title, "ohio-mumbai", panels, 100, 120);
        for (const p of panels) assert.ok(svg.includes(`>${p.title}<`), p.title);
        assert.strictEqual(svg.match(/<polyline /g)?.length, panels.length - 1);
        assert.strictEqual(svg.match(/>No data</g)?.length, 1);
        // The last panel ends at the grid's right edge: 24 columns.
        const widths = [...svg.matchAll(/<rect x="(\d+)" y="\d+" width="(\d+)"[^>]*stroke="#2c3235"/g)].map(
            (m) => Number(m[1]) + Number(m[2]),
        );
        assert.strictEqual(Math.max(...widths), 24 * 50 - 8);
    });
});
