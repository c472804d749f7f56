// Lint rules for the whole project: ESLint's and typescript-eslint's recommended sets.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", ".cache/", "bin/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            // Config and API payloads are untyped JSON at the edges; the planner types them.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-require-imports": "off",
        },
    },
    {
        // Plain CommonJS, run by Node.js as it is.
        files: [
            "test/support/summary-reporter.js",
            "test/support/fakeAwsCli.js",
            "test/support/fakeKubectl.js",
            "program/loader.js",
            "commands/supervisor.js",
        ],
        languageOptions: {
            globals: {
                require: "readonly",
                module: "writable",
                process: "readonly",
                __dirname: "readonly",
                setTimeout: "readonly",
                clearTimeout: "readonly",
                setInterval: "readonly",
                clearInterval: "readonly",
                console: "readonly",
            },
        },
    },
);
