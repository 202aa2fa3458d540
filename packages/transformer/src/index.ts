/**
 * `@gim/transformer`: GPT-2 and Llama-family models built from autograd ops, with named
 * places (module paths and tags) for backward rules to bind to.
 *
 * @packageDocumentation
 */
export {};
