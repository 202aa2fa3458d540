// Post-processors (tokenizer.json `post_processor`): add special tokens around the ids of one
// sequence, e.g. Llama's BOS. Our `encode` runs them only when asked
// (`{ addSpecialTokens: true }`); see Tokenizer.encode.

import { quote } from "@gim/tensor";
import { asArray, asIndex, asObject, asString, componentType, isObject, unsupported, checkSequenceDepth } from "./json.js";
import { TokenizerError } from "./error.js";

/** Adds special tokens around the ids of a single sequence. */
export type PostProcessor = (ids: number[]) => number[];

/** Builds the post-processor described by `spec` (null: none). `source` names the file in errors. */
export function buildPostProcessor(spec: unknown, source: string, where = "post_processor", depth = 0): PostProcessor | undefined {
  if (spec === null || spec === undefined) return undefined;
  const obj = asObject(spec, source, where);
  const type = componentType(obj, source, where);
  switch (type) {
    case "ByteLevel":
      return (ids) => ids; // only trims offsets, which we do not track
    case "TemplateProcessing": {
      const specials = asObject(obj["special_tokens"] ?? {}, source, `${where}.special_tokens`);
      const single = asArray(obj["single"], source, `${where}.single`);
      const parts = single.map((item, i): number[] | "A" => {
        const at = `${where}.single[${i}]`;
        const entry = asObject(item, source, at);
        if (isObject(entry["Sequence"])) {
          const id = asString(entry["Sequence"]["id"], source, `${at}.Sequence.id`);
          if (id !== "A") throw new TokenizerError(source, `${at} uses sequence ${quote(id)}; a single-sequence template can only use "A"`);
          return "A";
        }
        if (isObject(entry["SpecialToken"])) {
          const name = asString(entry["SpecialToken"]["id"], source, `${at}.SpecialToken.id`);
          const special = specials[name];
          if (!isObject(special)) throw new TokenizerError(source, `${at} uses special token ${quote(name)}, which is not in ${where}.special_tokens`);
          return asArray(special["ids"], source, `${where}.special_tokens.${name}.ids`).map((id, k) =>
            asIndex(id, source, `${where}.special_tokens.${name}.ids[${k}]`),
          );
        }
        throw new TokenizerError(source, `${at} must be {"Sequence": ...} or {"SpecialToken": ...}`);
      });
      return (ids) => parts.flatMap((part) => (part === "A" ? ids : part));
    }
    case "BertProcessing":
    case "RobertaProcessing": {
      const tokenId = (key: string): number => {
        const pair = asArray(obj[key], source, `${where}.${key}`);
        return asIndex(pair[1], source, `${where}.${key}[1]`);
      };
      const cls = tokenId("cls");
      const sep = tokenId("sep");
      return (ids) => [cls, ...ids, sep];
    }
    case "Sequence": {
      checkSequenceDepth(depth, source, where);
      const steps = asArray(obj["processors"], source, `${where}.processors`)
        .map((step, i) => buildPostProcessor(step, source, `${where}.processors[${i}]`, depth + 1))
        .filter((step): step is PostProcessor => step !== undefined);
      return (ids) => steps.reduce((acc, step) => step(acc), ids);
    }
    default:
      throw unsupported(source, "post_processor", type);
  }
}
