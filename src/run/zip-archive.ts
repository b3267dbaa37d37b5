import { inflateRawSync } from 'node:zlib';
import { InputError } from '../util/errors.js';

/**
 * A minimal zip reader (the container of PyTorch's torch.save files): the end-of-central-directory record (and its
 * zip64 form, which torch.save writes too), the central directory (with zip64 sizes and offsets where a field holds
 * the 0xFFFFFFFF marker), and each entry's stored or deflated bytes. No encryption, no multi-disk archives. Every
 * offset is bounds-checked, so a truncated file is an InputError.
 */
const ZIP64_MARK = 0xffffffff;
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
  let count = buf.readUInt16LE(eocd + 10);
  let dirSize = buf.readUInt32LE(eocd + 12);
  let pos = buf.readUInt32LE(eocd + 16);
  // The zip64 end record, found through its locator right before the classic one, has the 64-bit counts and offsets.
  if (eocd >= 20 && buf.readUInt32LE(eocd - 20) === 0x07064b50) {
    const record = Number(buf.readBigUInt64LE(eocd - 12));
    if (record + 56 > eocd - 20 || buf.readUInt32LE(record) !== 0x06064b50) fail('bad zip64 end-of-central-directory record');
    count = Number(buf.readBigUInt64LE(record + 32));
    dirSize = Number(buf.readBigUInt64LE(record + 40));
    pos = Number(buf.readBigUInt64LE(record + 48));
  } else if (count === 0xffff || dirSize === ZIP64_MARK || pos === ZIP64_MARK) fail('zip64 markers without a zip64 end record');
  if (pos + dirSize > eocd) fail('central directory outside the file');
  const entries = new Map<string, Uint8Array>();
  for (let n = 0; n < count; n++) {
    if (pos + 46 > buf.length || buf.readUInt32LE(pos) !== 0x02014b50) fail('corrupt central directory');
    const method = buf.readUInt16LE(pos + 10);
    let compressedSize = buf.readUInt32LE(pos + 20);
    let size = buf.readUInt32LE(pos + 24);
    const nameLength = buf.readUInt16LE(pos + 28);
    const extraLength = buf.readUInt16LE(pos + 30);
    const commentLength = buf.readUInt16LE(pos + 32);
    let localOffset = buf.readUInt32LE(pos + 42);
    const name = buf.toString('utf8', pos + 46, pos + 46 + nameLength);
    if (pos + 46 + nameLength + extraLength > buf.length) fail(`central directory entry of ${name} runs past the end`);
    // A field holding the marker is in the zip64 extra field (id 1), as 8 bytes, in the order size, compressed, offset.
    if (size === ZIP64_MARK || compressedSize === ZIP64_MARK || localOffset === ZIP64_MARK) {
      let at = -1;
      let end = -1;
      for (let e = pos + 46 + nameLength; e + 4 <= pos + 46 + nameLength + extraLength; e += 4 + buf.readUInt16LE(e + 2)) {
        if (buf.readUInt16LE(e) === 1) [at, end] = [e + 4, e + 4 + buf.readUInt16LE(e + 2)];
      }
      if (at < 0) fail(`entry ${name} has zip64 markers but no zip64 extra field`);
      const next = () => {
        if (at + 8 > end) fail(`entry ${name}: zip64 extra field too short`);
        const v = Number(buf.readBigUInt64LE(at));
        at += 8;
        return v;
      };
      if (size === ZIP64_MARK) size = next();
      if (compressedSize === ZIP64_MARK) compressedSize = next();
      if (localOffset === ZIP64_MARK) localOffset = next();
    }
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
