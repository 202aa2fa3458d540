#!/usr/bin/env node
/**
 * The `gim` executable: runs the command line of this process and exits with its code.
 *
 * @module
 */
import { runCli } from "./cli.js";

// `gim ... | head` closes the pipe early: that is not an error worth a message. Any other
// failure to write the output (a full disk, a closed terminal) is one line and exit 1.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  process.stderr.write(`gim: cannot write the output: ${error.message}\n`);
  process.exit(1);
});
// Nowhere is left to report a failure to write the error stream itself.
process.stderr.on("error", () => process.exit(1));

process.exitCode = await runCli(process.argv.slice(2));
