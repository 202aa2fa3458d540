/** Checks that SVG/XML text is well-formed enough to parse: balanced tags, quoted attributes, no stray "<" or "&". Returns the element names in order. */
export function checkXml(text: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("<", i);
    const between = text.slice(i, open < 0 ? text.length : open);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(between)) throw new Error(`unescaped & in text near ${JSON.stringify(between.slice(0, 40))}`);
    if (open < 0) break;
    const close = text.indexOf(">", open);
    if (close < 0) throw new Error(`unterminated tag at ${open}`);
    const tag = text.slice(open + 1, close);
    if (tag.includes("<")) throw new Error(`"<" inside tag ${tag.slice(0, 40)}`);
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      const top = stack.pop();
      if (top !== name) throw new Error(`</${name}> closes <${top}>`);
    } else {
      const m = /^([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)$/.exec(tag);
      if (!m) throw new Error(`malformed tag <${tag.slice(0, 60)}>`);
      names.push(m[1]!);
      if (m[3] !== "/") stack.push(m[1]!);
    }
    i = close + 1;
  }
  if (stack.length > 0) throw new Error(`unclosed tags: ${stack.join(", ")}`);
  return names;
}
