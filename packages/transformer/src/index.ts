/**
 * `@gim/transformer`: GPT-2 and Llama-family models built from autograd ops, with named
 * places (module paths and tags) for backward rules to bind to; Hugging Face folders
 * (config.json + safetensors) and tokenizers. Runs in Node and in browsers; model folders on
 * disk are read with `@gim/transformer/node`.
 *
 * @packageDocumentation
 */
export * from "./config.js";
export * from "./places.js";
export * from "./model.js";
export * from "./layout.js";
export * from "./layers.js";
export * from "./models/gpt2.js";
export * from "./models/llama.js";
export * from "./folder.js";
export * from "./load.js";
export * from "./safetensors/index.js";
export * from "./hooks.js";
export * from "./tokenizer/index.js";
