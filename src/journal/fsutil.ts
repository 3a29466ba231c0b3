// Small file-system helpers with the durability steps spelled out.
import { promises as fsp, constants as fsc } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** fsyncs a directory so that creations, renames and deletions inside it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, fsc.O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes the whole buffer at the file's current position, looping over short writes. */
export async function writeAll(fh: fsp.FileHandle, buf: Uint8Array): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, null);
    if (bytesWritten <= 0) throw new Error(`short write: ${bytesWritten} bytes`);
    off += bytesWritten;
  }
}

/** temp file → fsync → rename → fsync dir. */
export async function atomicWriteFile(file: string, data: string | Uint8Array, sync = true): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await writeAll(fh, typeof data === 'string' ? Buffer.from(data) : data);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  if (sync) await fsyncDir(path.dirname(file));
}

export function atomicWriteFileSync(file: string, data: string, sync = true): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeFileSync(fd, data);
    if (sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (sync) fsyncDirSync(path.dirname(file));
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Entries of a directory, or [] if it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
