/**
 * The first member name an object of a JSON text gives twice, with the path to it, or null.
 * JSON.parse keeps the last of two and says nothing: a config file listing `port` twice ran on
 * the second with no word about the first. Walked with a stack of the names each open object
 * has seen, not recursively: the text has parsed already, so only strings need reading exactly.
 */
export function duplicateKey(text: string): { readonly path: readonly string[]; readonly key: string } | null {
  /** Per open container: its member names so far (null: an array), and its own name in its parent. */
  const open: { names: Set<string> | null; name: string }[] = [];
  /** The last member name read in the innermost object, until its value opens or ends. */
  let pending = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = open[open.length - 1];
      let j = end + 1;
      while (j < text.length && /\s/.test(text[j] as string)) j++;
      if (top?.names && text[j] === ':') {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.names.has(key)) return { path: open.slice(1).map((o) => o.name), key };
        top.names.add(key);
        pending = key;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      open.push({ names: c === '{' ? new Set() : null, name: pending });
      pending = '';
    } else if (c === '}' || c === ']') {
      open.pop();
    }
  }
  return null;
}
