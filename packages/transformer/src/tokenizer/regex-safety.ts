// A static check that a tokenizer's regex cannot backtrack catastrophically.
//
// JavaScript's RegExp backtracks, and a pattern from a file runs over every text the
// tokenizer encodes, with no way to stop it. Two shapes make backtracking explode:
//
// - Exponential: a group repeated more than once that can match the same text in several
//   ways, because it holds a quantifier (`(a+)+`, `(?:\s*a)*`, `(a?b?)*`) or an alternation
//   (`(a|ab)*`, `(\p{L}|a)+`). A failing match then tries every way of splitting the text
//   among the iterations: 2^n steps for n characters.
// - Polynomial of high degree: many unbounded quantifiers in one sequence (`a*a*a*a*b`) try
//   every way of sharing the text among them: n^k steps for k quantifiers.
//
// So a pattern is refused when a group repeated more than once (`*`, `+`, `{n,}`, `{n,m}` with
// m > 1) holds any quantifier or alternation, or when one path through it has more than
// MAX_UNBOUNDED_IN_SEQUENCE unbounded (or over 16-fold) quantifiers. Lookarounds count on
// their own (they are atomic). Real tokenizers stay far inside: GPT-2's, Llama 3's, Qwen2's
// and GPT-4o's patterns repeat no group and have at most 2 such quantifiers on a path.
//
// The check reads the JavaScript pattern that `translateRegex` produced (one syntax, already
// validated by the RegExp compiler).

/** The most unbounded quantifiers allowed on one path through a pattern (`\s*[\r\n]+` has 2). */
export const MAX_UNBOUNDED_IN_SEQUENCE = 3;

/** The deepest nesting of groups allowed. */
export const MAX_GROUP_DEPTH = 64;

// A quantifier whose maximum is above this counts as unbounded for the polynomial check.
const LARGE_REPEAT = 16;

type RegexNode =
  | { kind: "atom" }
  | { kind: "seq"; items: RegexNode[] }
  | { kind: "alt"; branches: RegexNode[] }
  | { kind: "group"; inner: RegexNode; lookaround: boolean }
  | { kind: "repeat"; inner: RegexNode; max: number };

/**
 * Why the JavaScript pattern `source` (Unicode mode) could backtrack catastrophically, as a
 * phrase, or undefined when it cannot (see the notes at the top of this file).
 */
export function backtrackingProblem(source: string): string | undefined {
  let tree: RegexNode;
  try {
    tree = new Parser(source).parse();
  } catch (error) {
    return (error as Error).message;
  }
  return exponential(tree, false) ?? polynomial(tree);
}

/** Walks the tree; `repeated` is true inside a group repeated more than once. */
function exponential(node: RegexNode, repeated: boolean): string | undefined {
  switch (node.kind) {
    case "atom":
      return undefined;
    case "seq":
      for (const item of node.items) {
        const problem = exponential(item, repeated);
        if (problem) return problem;
      }
      return undefined;
    case "alt":
      if (repeated) return "can backtrack exponentially (a repeated group holds an alternation)";
      for (const branch of node.branches) {
        const problem = exponential(branch, repeated);
        if (problem) return problem;
      }
      return undefined;
    case "group":
      return exponential(node.inner, repeated);
    case "repeat":
      if (repeated) return "can backtrack exponentially (a repeated group holds a quantifier)";
      // A repeated single character or class is a plain loop; only a repeated group can hold more.
      return node.inner.kind === "atom" ? undefined : exponential(node.inner, node.max > 1);
  }
}

/** The most unbounded quantifiers on one path of `node`; lookarounds are checked as patterns of their own. */
function polynomial(node: RegexNode): string | undefined {
  let problem: string | undefined;
  const weight = (n: RegexNode): number => {
    switch (n.kind) {
      case "atom":
        return 0;
      case "seq": {
        let total = 0;
        for (const item of n.items) total += weight(item);
        if (total > MAX_UNBOUNDED_IN_SEQUENCE) problem ??= `has ${total} unbounded repetitions in one sequence; at most ${MAX_UNBOUNDED_IN_SEQUENCE} (their backtracking grows as the length of the text to that power)`;
        return total;
      }
      case "alt":
        return Math.max(0, ...n.branches.map(weight));
      case "group":
        if (n.lookaround) {
          weight(n.inner);
          return 0;
        }
        return weight(n.inner);
      case "repeat":
        return (n.max > LARGE_REPEAT ? 1 : 0) + weight(n.inner);
    }
  };
  weight(node);
  return problem;
}

/** A recursive-descent parser of JavaScript regex syntax, keeping only what the checks need. */
class Parser {
  private at = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  parse(): RegexNode {
    const tree = this.alternation();
    if (this.at < this.text.length) throw new Error(`has an unbalanced ')' at offset ${this.at}`);
    return tree;
  }

  private alternation(): RegexNode {
    const branches = [this.sequence()];
    while (this.text[this.at] === "|") {
      this.at++;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? branches[0]! : { kind: "alt", branches };
  }

  private sequence(): RegexNode {
    const items: RegexNode[] = [];
    while (this.at < this.text.length && this.text[this.at] !== "|" && this.text[this.at] !== ")") {
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return { kind: "seq", items };
  }

  private quantified(inner: RegexNode): RegexNode {
    const c = this.text[this.at];
    let max: number;
    if (c === "*" || c === "+") {
      max = Infinity;
      this.at++;
    } else if (c === "?") {
      max = 1;
      this.at++;
    } else if (c === "{") {
      const bounds = /^\{(\d+)(,(\d*))?\}/.exec(this.text.slice(this.at, this.at + 40));
      if (!bounds) return inner;
      max = bounds[2] === undefined ? Number(bounds[1]) : bounds[3] === "" ? Infinity : Number(bounds[3]);
      this.at += bounds[0].length;
    } else {
      return inner;
    }
    if (this.text[this.at] === "?") this.at++; // lazy: the same backtracking, in another order
    return { kind: "repeat", inner, max };
  }

  private atom(): RegexNode {
    const c = this.text[this.at]!;
    if (c === "(") {
      if (++this.depth > MAX_GROUP_DEPTH) throw new Error(`nests groups deeper than ${MAX_GROUP_DEPTH}`);
      const head = /^\((\?(:|=|!|<=|<!|<[A-Za-z_][A-Za-z0-9_]*>))?/.exec(this.text.slice(this.at, this.at + 300))![0];
      this.at += head.length;
      const inner = this.alternation();
      if (this.text[this.at] !== ")") throw new Error("has an unclosed '('");
      this.at++;
      this.depth--;
      return { kind: "group", inner, lookaround: /^\(\?(=|!|<=|<!)/.test(head) };
    }
    if (c === "[") {
      this.at++;
      while (this.at < this.text.length && this.text[this.at] !== "]") this.at += this.text[this.at] === "\\" ? this.escapeLength() : 1;
      this.at++;
      return { kind: "atom" };
    }
    if (c === "\\") {
      this.at += this.escapeLength();
      return { kind: "atom" };
    }
    this.at++;
    return { kind: "atom" };
  }

  /** The length of the escape at the cursor (`\p{L}`, `\u{1F600}`, `\u0041`, `\x41`, `\cA`, `\n`). */
  private escapeLength(): number {
    const next = this.text[this.at + 1];
    if ((next === "p" || next === "P" || next === "u") && this.text[this.at + 2] === "{") {
      const close = this.text.indexOf("}", this.at);
      return close < 0 ? this.text.length - this.at : close + 1 - this.at;
    }
    if (next === "u") return 6;
    if (next === "x") return 4;
    if (next === "c") return 3;
    return 2;
  }
}
