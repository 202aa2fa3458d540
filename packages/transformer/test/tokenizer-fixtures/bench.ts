// Tokenizer throughput (prints figures; not a test). Run from the repository root:
//
//   npx tsx packages/transformer/test/tokenizer-fixtures/bench.ts
//
// Trains a byte-level BPE on synthetic IOI-style text, then encodes and decodes about 1 MB
// with it and with the fixture layouts (Llama 2 style has no pre-tokenizer, so each line is
// one long piece for the BPE heap).

import { fileURLToPath } from "node:url";
import { trainByteLevelBpe, type Tokenizer } from "../../src/tokenizer/index.js";
import { loadTokenizer } from "../../src/node/index.js";

const FIXTURES = fileURLToPath(new URL("./", import.meta.url));

function syntheticText(lines: number, seed = 1): string[] {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const names = ["Mary", "John", "Tom", "Anna", "Sarah", "David", "Zoë", "Jürgen", "Ana\u00efs", "\u674e\u96f7"];
  const places = ["store", "park", "school", "market", "station", "caf\u00e9", "library"];
  const things = ["drink", "book", "ball", "apple", "ticket", "letter", "\u{1F381}"];
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const [a, b] = [pick(names), pick(names)];
    out.push(`When ${a} and ${b} went to the ${pick(places)}, ${b} gave a ${pick(things)} to ${a}. It's ${Math.floor(random() * 10000)} o'clock!\n`);
  }
  return out;
}

function time(label: string, bytes: number, run: () => unknown): void {
  run(); // warm up (and fill the piece cache once, as in real use)
  const start = performance.now();
  let rounds = 0;
  while (performance.now() - start < 1000) {
    run();
    rounds++;
  }
  const seconds = (performance.now() - start) / 1000 / rounds;
  console.log(`${label.padEnd(44)} ${(bytes / seconds / 1e6).toFixed(2).padStart(7)} MB/s  (${(seconds * 1000).toFixed(1)} ms per MB-run)`);
}

const lines = syntheticText(12_000);
const text = lines.join("");
const bytes = Buffer.byteLength(text, "utf8");
console.log(`text: ${lines.length} lines, ${(bytes / 1e6).toFixed(2)} MB`);

let start = performance.now();
const trained = trainByteLevelBpe(lines, { vocabSize: 4096, specialTokens: ["<|endoftext|>"] });
console.log(`trainByteLevelBpe: ${trained.vocabSize} tokens from ${(bytes / 1e6).toFixed(2)} MB in ${((performance.now() - start) / 1000).toFixed(2)} s`);

const tokenizers: Array<[string, Tokenizer]> = [["trained byte-level (4096)", trained]];
for (const folder of ["gpt2-files", "llama3-style", "llama2-style"]) {
  start = performance.now();
  tokenizers.push([folder, await loadTokenizer(`${FIXTURES}${folder}`)]);
}
for (const [name, tok] of tokenizers) {
  const ids = tok.encode(text);
  time(`encode ${name} (${(bytes / ids.length).toFixed(2)} bytes/token)`, bytes, () => tok.encode(text));
  time(`decode ${name}`, bytes, () => tok.decode(ids));
}
