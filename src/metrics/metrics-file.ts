import { randomBytes } from 'node:crypto';
// node:fs's promises, read where used: importing node:fs/promises loads it (and readline) at
// start-up, about 3.5 ms of every pass's CPU, for a file most passes never write.
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes the file so a reader sees the old or the new content, never half: write a temp file
 * in the same directory (rename is atomic only within one filesystem), fsync, rename over.
 * The temp name does not end in .prom, so node-exporter's textfile collector never reads it.
 * `text` may come in chunks (the exposition is written as it is made).
 */
export async function writeFileAtomic(
  path: string,
  text: string | Iterable<string>,
): Promise<void> {
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid.toString()}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path is the operator's own --metrics-file / kubeconfig / secret file, not data from the cluster
    const handle = await fs.open(temp, 'w', 0o644);
    try {
      for (const chunk of typeof text === 'string' ? [text] : text) {
        await handle.write(chunk, null, 'utf8');
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path is the operator's own --metrics-file / kubeconfig / secret file, not data from the cluster
    await fs.rename(temp, path);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** The previous file's text, or undefined when there is none yet. */
export async function readPreviousFile(path: string): Promise<string | undefined> {
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the path is the operator's own --metrics-file / kubeconfig / secret file, not data from the cluster
    return await fs.readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
}
