import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { repoRoot } from './tiny-config.js';

const cli = path.join(repoRoot, 'src', 'cli', 'main.ts');
/** tsx as an absolute URL, so the CLI also runs from another working directory. */
const tsx = import.meta.resolve('tsx');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ealstm <args>` from source in a child process (in `cwd`, default the repository) and waits for it. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd = repoRoot): CliResult {
  const r = spawnSync(process.execPath, ['--import', tsx, cli, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A running `ealstm <args>` child process, with its exit and its output. */
export interface RunningCli {
  child: ChildProcess;
  /** Resolves when it ends: exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function startCli(args: string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', tsx, cli, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `file` exists (polling), failing after `timeoutMs` or, when `running` is given, as soon as that
 * process has ended without writing it (with its output).
 */
export async function waitForFile(file: string, running?: RunningCli, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let ended: { code: number | null; stdout: string; stderr: string } | null = null;
  void running?.exited.then((r) => {
    ended = r;
  });
  while (!existsSync(file)) {
    if (ended) {
      const r = ended as { code: number | null; stdout: string; stderr: string };
      throw new Error(`the process ended (exit ${r.code}) before writing ${file}:\n${r.stdout}\n${r.stderr}`);
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${file}`);
    await sleep(10);
  }
}

/** Every file below `dir` (relative path -> sha256 of its bytes), to prove a folder unchanged. */
export function folderSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      const full = path.join(folder, name);
      if (statSync(full).isDirectory()) {
        out[`${path.relative(dir, full)}/`] = '';
        walk(full);
      } else out[path.relative(dir, full)] = createHash('sha256').update(readFileSync(full)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** A user error as the CLI must report it: exit 2, one line `error: ...` matching `message`, no stack trace. */
export function assertUserError(r: { status: number | null; stderr: string }, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], message);
}
