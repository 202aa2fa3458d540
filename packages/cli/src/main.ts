#!/usr/bin/env node
/**
 * The `gim` executable: runs the command line of this process and exits with its code.
 *
 * @module
 */
import { runCli } from "./cli.js";

// `gim ... | head` closes the pipe early: that is not an error worth a message.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2));
