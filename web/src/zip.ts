// A zip archive of finished files, for "download all". Entries are stored, not deflated: the
// photos are PNG or JPEG, already compressed, so deflate would cost time and gain nothing. No
// timestamps, comments or extra fields are written (every entry carries the zip epoch,
// 1980-01-01 00:00), so the archive says nothing about when or where it was made.
// Format: PKWARE APPNOTE.TXT 6.3.10, sections 4.3.7 (local header), 4.3.12 (central directory)
// and 4.3.16 (end of central directory); no zip64, so at most 65,535 entries and 4 GiB.

export interface ZipEntry {
  name: string;
  bytes: Uint8Array;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zip and PNG use it). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The zip epoch as MS-DOS time and date: 1980-01-01 00:00:00. */
const DOS_TIME = 0;
const DOS_DATE = (1 << 5) | 1;
/** Bit 11 of the general-purpose flags: names are UTF-8. */
const UTF8 = 1 << 11;

/** `entries` as one zip archive (names made unique with " (2)", " (3)", … before the extension). */
export function zip(entries: ZipEntry[]): Blob {
  if (entries.length > 0xffff) throw new RangeError(`a zip without zip64 holds at most 65535 files, not ${entries.length}`);
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = encoder.encode(unique(entry.name, seen));
    const crc = crc32(entry.bytes);
    const size = entry.bytes.length;
    if (offset + size > 0xffffffff) throw new RangeError('a zip without zip64 holds at most 4 GiB');
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true); // local file header signature
    local.setUint16(4, 20, true); // version needed: 2.0
    local.setUint16(6, UTF8, true);
    local.setUint16(8, 0, true); // method: stored
    local.setUint16(10, DOS_TIME, true);
    local.setUint16(12, DOS_DATE, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, size, true); // compressed size
    local.setUint32(22, size, true); // uncompressed size
    local.setUint16(26, name.length, true);
    local.setUint16(28, 0, true); // extra field length
    parts.push(new Uint8Array(local.buffer), name, entry.bytes);

    const header = new DataView(new ArrayBuffer(46));
    header.setUint32(0, 0x02014b50, true); // central directory header signature
    header.setUint16(4, 20, true); // version made by: 2.0, MS-DOS attributes
    header.setUint16(6, 20, true);
    header.setUint16(8, UTF8, true);
    header.setUint16(10, 0, true);
    header.setUint16(12, DOS_TIME, true);
    header.setUint16(14, DOS_DATE, true);
    header.setUint32(16, crc, true);
    header.setUint32(20, size, true);
    header.setUint32(24, size, true);
    header.setUint16(28, name.length, true);
    // extra, comment, disk number, internal and external attributes: all 0
    header.setUint32(42, offset, true); // where the local header is
    central.push(new Uint8Array(header.buffer), name);
    offset += 30 + name.length + size;
  }
  const directorySize = central.reduce((sum, part) => sum + part.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true); // end of central directory signature
  end.setUint16(8, entries.length, true); // entries on this disk
  end.setUint16(10, entries.length, true); // entries in all
  end.setUint32(12, directorySize, true);
  end.setUint32(16, offset, true); // where the central directory starts
  return new Blob([...parts, ...central, new Uint8Array(end.buffer)] as BlobPart[], { type: 'application/zip' });
}

function unique(name: string, seen: Set<string>): string {
  let candidate = name;
  const dot = name.lastIndexOf('.');
  const [stem, extension] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 2; seen.has(candidate); n++) candidate = `${stem} (${n})${extension}`;
  seen.add(candidate);
  return candidate;
}
