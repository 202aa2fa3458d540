import { FileFormatError } from "@gim/tensor";

/**
 * A tokenizer file (or in-memory tokenizer description) that cannot be used: one line,
 * `<source>: <problem>`, where the source is the file or the name the caller gave.
 */
export class TokenizerError extends FileFormatError {
  override name = "TokenizerError";
}
