import { inflateRawSync } from 'node:zlib';
import { InputError } from '../util/errors.js';

/**
 * A minimal zip reader (the container of PyTorch's torch.save files): the end-of-central-directory record, the
 * central directory, and each entry's stored or deflated bytes. No zip64, no encryption: a PyTorch checkpoint of
 * a rainfall-runoff model needs neither. Every offset is bounds-checked, so a truncated file is an InputError.
 */
export function readZipEntries(bytes: Uint8Array, file: string): Map<string, Uint8Array> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new InputError(`${file}: not a readable PyTorch zip file (${what}; truncated or not made by torch.save?)`);
  };
  // The end-of-central-directory record: signature 0x06054b50 within the last 65557 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('no end-of-central-directory record');
  const count = buf.readUInt16LE(eocd + 10);
  const dirSize = buf.readUInt32LE(eocd + 12);
  let pos = buf.readUInt32LE(eocd + 16);
  if (pos + dirSize > eocd) fail('central directory outside the file');
  const entries = new Map<string, Uint8Array>();
  for (let n = 0; n < count; n++) {
    if (pos + 46 > buf.length || buf.readUInt32LE(pos) !== 0x02014b50) fail('corrupt central directory');
    const method = buf.readUInt16LE(pos + 10);
    const compressedSize = buf.readUInt32LE(pos + 20);
    const size = buf.readUInt32LE(pos + 24);
    const nameLength = buf.readUInt16LE(pos + 28);
    const extraLength = buf.readUInt16LE(pos + 30);
    const commentLength = buf.readUInt16LE(pos + 32);
    const localOffset = buf.readUInt32LE(pos + 42);
    const name = buf.toString('utf8', pos + 46, pos + 46 + nameLength);
    pos += 46 + nameLength + extraLength + commentLength;
    if (localOffset + 30 > buf.length || buf.readUInt32LE(localOffset) !== 0x04034b50) fail(`bad local header of ${name}`);
    const start = localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    if (start + compressedSize > buf.length) fail(`entry ${name} runs past the end`);
    const raw = buf.subarray(start, start + compressedSize);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = inflateRawSync(raw);
      } catch {
        data = fail(`entry ${name} does not inflate`);
      }
    } else data = fail(`entry ${name} uses compression method ${method}`);
    if (data.length !== size) fail(`entry ${name} has ${data.length} bytes, its header says ${size}`);
    entries.set(name, data);
  }
  return entries;
}
