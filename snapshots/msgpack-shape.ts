/**
 * The shape bounds of src/envelope-limits.ts (checkShape), read from a journal record's msgpack
 * bytes instead of the decoded envelope. Replay must hold every stored envelope to today's
 * bounds, and walking the decoded envelope with for…in cost more per record than reading its
 * bytes: containers are counted from their headers, everything else is skipped by its length.
 *
 * It only ever proves a record within bounds. Whatever it cannot read exactly (msgpack `bin`
 * and extension values, which decode to typed arrays or other objects that checkShape walks)
 * and every bound it sees broken answers false, and the caller checks the decoded envelope as
 * before: the verdict, its reason and its detail stay checkShape's own.
 */

/** Items still to read in each open container (a map entry is two: key and value). */
let open = new Float64Array(72);

/**
 * True when the journal record (`{ id, envelope }`, encodeJournalRecord) at bytes[start..end)
 * holds an envelope that checkShape(envelope, maxDepth, maxKeys) passes.
 */
export function recordWithinShape(
  bytes: Uint8Array,
  start: number,
  end: number,
  maxDepth: number,
  maxKeys: number,
): boolean {
  // The record itself is a map of two (0x82) around the envelope: one level and two members more.
  if (bytes[start] !== 0x82) return false;
  return withinShape(bytes, start, end, maxDepth + 1, maxKeys + 2);
}

/** checkShape's bounds on the one msgpack value at bytes[start..end), or false when not provable. */
function withinShape(bytes: Uint8Array, start: number, end: number, maxDepth: number, maxKeys: number): boolean {
  if (open.length < maxDepth + 2) open = new Float64Array(maxDepth + 2);
  let pos = start;
  let level = 0;
  let keys = 0;
  open[0] = 1;
  for (;;) {
    while (open[level] === 0) {
      if (level === 0) return pos === end;
      level--;
    }
    open[level] = (open[level] as number) - 1;
    if (pos >= end) return false;
    const b = bytes[pos++] as number;
    let members: number;
    let entries: number;
    if (b <= 0x7f || b >= 0xe0) continue; // positive and negative fixint
    if (b <= 0x8f) {
      members = b & 0x0f; // fixmap
      entries = 2 * members;
    } else if (b <= 0x9f) {
      members = b & 0x0f; // fixarray
      entries = members;
    } else if (b <= 0xbf) {
      pos += b & 0x1f; // fixstr
      continue;
    } else {
      switch (b) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          continue;
        case 0xcc: // uint8
        case 0xd0: // int8
          pos += 1;
          continue;
        case 0xcd: // uint16
        case 0xd1: // int16
          pos += 2;
          continue;
        case 0xca: // float32
        case 0xce: // uint32
        case 0xd2: // int32
          pos += 4;
          continue;
        case 0xcb: // float64
        case 0xcf: // uint64
        case 0xd3: // int64
          pos += 8;
          continue;
        case 0xd9: // str8
          if (pos + 1 > end) return false;
          pos += 1 + (bytes[pos] as number);
          continue;
        case 0xda: // str16
          if (pos + 2 > end) return false;
          pos += 2 + u16(bytes, pos);
          continue;
        case 0xdb: // str32
          if (pos + 4 > end) return false;
          pos += 4 + u32(bytes, pos);
          continue;
        case 0xdc: // array16
          if (pos + 2 > end) return false;
          members = u16(bytes, pos);
          entries = members;
          pos += 2;
          break;
        case 0xdd: // array32
          if (pos + 4 > end) return false;
          members = u32(bytes, pos);
          entries = members;
          pos += 4;
          break;
        case 0xde: // map16
          if (pos + 2 > end) return false;
          members = u16(bytes, pos);
          entries = 2 * members;
          pos += 2;
          break;
        case 0xdf: // map32
          if (pos + 4 > end) return false;
          members = u32(bytes, pos);
          entries = 2 * members;
          pos += 4;
          break;
        default:
          return false; // bin, ext, fixext and the unused 0xc1
      }
    }
    // A container, `level + 1` deep (the outermost value is depth 1, as in checkShape).
    if (level + 1 > maxDepth) return false;
    keys += members;
    if (keys > maxKeys) return false;
    if (entries > 0) open[++level] = entries;
  }
}

function u16(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
}

function u32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] as number) * 0x1000000 +
    (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number))
  );
}
