#!/usr/bin/env node
// A kubectl that serves `kubectl proxy --unix-socket=<path>` like a cluster would, for the cluster
// reader's tests. $PLUMR_FAKE_KUBECTL is a directory: answers.json holds, by "<METHOD> <path>", the
// status and body to give (anything else: 404), and "fail" (if set) is the error kubectl gives
// instead of serving. It records its pid (pid), its arguments (args), the kubeconfig it was given and that file's
// mode (kubeconfig, mode), and every request (requests, one line each). "hold" maps a request to
// another: its answer waits until that other request has arrived (504 after 10 s).
const fs = require("fs");
const http = require("http");
const path = require("path");

const dir = process.env.PLUMR_FAKE_KUBECTL;
const args = process.argv.slice(2);
fs.writeFileSync(path.join(dir, "pid"), String(process.pid));
fs.writeFileSync(path.join(dir, "args"), JSON.stringify(args));
const kubeconfig = args[args.indexOf("--kubeconfig") + 1];
fs.writeFileSync(path.join(dir, "kubeconfig"), fs.readFileSync(kubeconfig));
fs.writeFileSync(path.join(dir, "kubeconfig-path"), kubeconfig);
fs.writeFileSync(path.join(dir, "mode"), (fs.statSync(kubeconfig).mode & 0o777).toString(8));
const config = JSON.parse(fs.readFileSync(path.join(dir, "answers.json"), "utf8"));
if (config.fail) {
    process.stderr.write(`${config.fail}\n`);
    process.exit(1);
}
const socket = args.find((a) => a.startsWith("--unix-socket=")).slice("--unix-socket=".length);
const arrived = new Set();
const waiting = [];
http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
        const key = `${request.method} ${request.url}`;
        fs.appendFileSync(path.join(dir, "requests"), `${key}${body ? ` ${body}` : ""}\n`);
        arrived.add(key);
        const answer = config.answers[key] ?? { status: 404, body: { kind: "Status", reason: "NotFound", message: "not found" } };
        const reply = () =>
            response.writeHead(answer.status).end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body));
        const after = config.hold?.[key];
        if (after && !arrived.has(after)) {
            const timer = setTimeout(() => response.writeHead(504).end("asked in turn"), 10_000);
            waiting.push({ after, go: () => (clearTimeout(timer), reply()) });
        } else reply();
        for (const w of waiting.filter((w) => arrived.has(w.after))) {
            waiting.splice(waiting.indexOf(w), 1);
            w.go();
        }
    });
}).listen(socket, () => process.stdout.write(`Starting to serve on ${socket}\n`));
