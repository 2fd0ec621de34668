// An agent on the MCP TypeScript SDK, started by tests/test_real_clients.py.
//
// It connects through the SDK's stdio transport, which starts the server command with the SDK's
// default environment (HOME, LOGNAME, PATH, SHELL, TERM, USER): the trimmed environment real
// clients give `nbtui attach`. Then it calls every tool, asks for a plot, follows a long run's
// progress and cancels a call. It prints one JSON object with what it saw; the Python test
// asserts on it.
//
// Usage: node sdk_client.mjs COMMAND [ARG...]

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [command, ...args] = process.argv.slice(2);
const transport = new StdioClientTransport({ command, args, stderr: "pipe" });
let serverStderr = "";
transport.stderr?.on("data", (chunk) => { serverStderr += chunk; });

const client = new Client({ name: "ts-sdk-test", version: "1.0.0" });
const seen = { calls: {}, errors: {} };

function data(result) {
  if (result.structuredContent) return result.structuredContent;
  const text = result.content.find((c) => c.type === "text");
  try { return JSON.parse(text.text); } catch { return { text: text?.text }; }
}

function cellIdOf(result) {
  return result.cells?.[0]?.id ?? result.cell?.id;
}

async function call(name, args = {}, options = {}) {
  const result = await client.callTool({ name, arguments: args }, undefined, options);
  if (result.isError) {
    seen.errors[name] = result.content.map((c) => c.text).join(" ");
  }
  seen.calls[name] = (seen.calls[name] ?? 0) + 1;
  return result;
}

try {
  await client.connect(transport);
  seen.server = client.getServerVersion();
  seen.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  seen.resources = (await client.listResources()).resources.map((r) => r.uri);
  const resource = await client.readResource({ uri: seen.resources[0] });
  seen.resource_has_cells = JSON.parse(resource.contents[0].text).cells !== undefined;

  const overview = data(await call("get_notebook"));
  seen.path = overview.path;
  const inserted = data(await call("insert_cell", { source: "x = 41\nx + 1", run: true }));
  const cellId = cellIdOf(inserted);
  seen.inserted_outputs = JSON.stringify(inserted);
  await call("edit_cell", { cell_id: cellId, old_text: "41", new_text: "1" });
  const second = data(await call("insert_cell", { source: "# notes", cell_type: "markdown" }));
  const secondId = cellIdOf(second);
  await call("move_cell", { cell_id: secondId, index: 0 });
  await call("run_cells", { cell_ids: [cellId] });
  await call("wait", { cell_ids: [cellId] });
  seen.read = JSON.stringify(data(await call("read_cells", { cell_ids: [cellId] })));
  await call("read_output", { cell_id: cellId, output_index: 0 });
  await call("run_code", { code: "import sys; sys.version_info[0]" });
  seen.variables = JSON.stringify(data(await call("list_variables")));
  await call("changes_since", { revision: 0 });
  await call("install_packages", { packages: ["not a requirement!!"] });
  await call("interrupt_kernel");
  await call("save_notebook");
  await call("restart_kernel");
  await call("delete_cells", { cell_ids: [secondId] });

  // A plot arrives as image content.
  const plot = await call("run_code", {
    code: [
      "import base64, IPython.display as d",
      "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')",
      "d.display(d.Image(png))",
    ].join("\n"),
  });
  seen.image_types = plot.content.filter((c) => c.type === "image").map((c) => c.mimeType);

  // A long run reports progress to a client that sent a progress token.
  seen.progress = [];
  const longCell = data(await call("insert_cell", {
    source: "import time\nfor i in range(4):\n    print(i, flush=True)\n    time.sleep(0.5)",
  }));
  const longId = cellIdOf(longCell);
  await call("run_cells", { cell_ids: [longId], timeout: 30 }, {
    onprogress: (p) => seen.progress.push(p),
    resetTimeoutOnProgress: true,
  });

  // A cancelled call ends at once for the client; the session carries on.
  const controller = new AbortController();
  const pending = call("run_code", { code: "import time; time.sleep(3); 'slept'", timeout: 30 },
    { signal: controller.signal });
  setTimeout(() => controller.abort("the test cancels"), 300);
  try {
    await pending;
    seen.cancelled = false;
  } catch (error) {
    seen.cancelled = String(error);
  }
  const after = await call("run_code", { code: "'still here'" });
  seen.after_cancel = JSON.stringify(data(after));
  await client.close();
  seen.ok = true;
} catch (error) {
  seen.ok = false;
  seen.failure = String(error?.stack ?? error);
  seen.server_stderr = serverStderr;
}
process.stdout.write(JSON.stringify(seen) + "\n");
process.exit(0);
