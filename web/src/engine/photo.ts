// Turning what a person hands us (a file, a pasted blob, an ImageBitmap) into bytes the engine
// decodes, and saying clearly when it is a format it cannot read.

/**
 * The pixel limit the engine enforces before decoding (a decompression bomb allocates nothing):
 * what the browser can hold. 32-bit wasm has at most 4 GiB, and a protection holds several
 * float copies of the photo (see the e2e test "a photo at the pixel limit", which protects one
 * this size and prints the memory it took). A 6000×4000 camera photo fits.
 */
export const MAX_PIXELS = 24_000_000;

const FORMATS: { name: string; magic: (b: Uint8Array) => boolean }[] = [
  { name: 'JPEG', magic: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { name: 'PNG', magic: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 },
  { name: 'WebP', magic: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP' },
];

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}

/** Why these bytes are not a photo the engine reads, or null when they are JPEG, PNG or WebP. */
export function unsupportedReason(bytes: Uint8Array, name = 'this file'): string | null {
  if (bytes.length === 0) return `${name} is empty.`;
  if (FORMATS.some((f) => f.magic(bytes))) return null;
  const brand = ascii(bytes, 4, 12);
  if (brand.startsWith('ftyp')) {
    const kind = ascii(bytes, 8, 12);
    if (/^(heic|heix|hevc|heim|heis|mif1|msf1)$/.test(kind)) {
      return `${name} is a HEIC/HEIF photo (the iPhone's format), which this page cannot read. Export it as JPEG first: on an iPhone, Settings → Camera → Formats → Most Compatible; on a Mac, open it in Preview and choose File → Export → JPEG.`;
    }
    if (kind.startsWith('avi')) return `${name} is an AVIF image, which this page cannot read. Save it as JPEG, PNG or WebP first.`;
  }
  if (ascii(bytes, 0, 3) === 'GIF') return `${name} is a GIF, which this page cannot read. Save it as JPEG, PNG or WebP first.`;
  if (ascii(bytes, 0, 2) === 'BM') return `${name} is a BMP, which this page cannot read. Save it as JPEG, PNG or WebP first.`;
  if (ascii(bytes, 0, 4) === 'II*\0' || ascii(bytes, 0, 4) === 'MM\0*') {
    return `${name} is a TIFF (or camera raw) file, which this page cannot read. Save it as JPEG, PNG or WebP first.`;
  }
  return `${name} is not a JPEG, PNG or WebP image.`;
}

/** The bytes of a file, blob or bitmap (a bitmap is written as PNG, losslessly). */
export async function toBytes(input: Blob | ImageBitmap): Promise<Uint8Array> {
  if (input instanceof Blob) return new Uint8Array(await input.arrayBuffer());
  const canvas = new OffscreenCanvas(input.width, input.height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('this browser cannot draw an ImageBitmap');
  context.drawImage(input, 0, 0);
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return new Uint8Array(await blob.arrayBuffer());
}

/** ImageData from the engine's RGBA bytes. */
export function imageData(rgba: Uint8Array, width: number, height: number): ImageData {
  return new ImageData(new Uint8ClampedArray(rgba.buffer as ArrayBuffer, rgba.byteOffset, rgba.byteLength), width, height);
}
