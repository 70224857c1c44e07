/**
 * `cpl password set|clear` and `cpl token create|list|revoke`: local admin
 * commands that write straight to the database (the server reads it on every
 * check, so a running server sees the change at once). Secrets are hashed
 * before storage; a new token is printed once and never again.
 */
import { parseArgs } from 'node:util';
import * as authRepo from '../db/auth-repo.ts';
import { openDatabase, type Db } from '../db/database.ts';
import { missingDatabase } from '../db/identity.ts';
import { prepareHome } from '../home.ts';
import { MIN_PASSWORD_LENGTH } from '../auth/password-hash.ts';
import { pathsFor, resolveHome } from '../paths.ts';
import { createApiToken, storePassword } from '../auth/auth-store.ts';

export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

function openDb(): Db {
  const paths = pathsFor(resolveHome());
  prepareHome(paths);
  // Never create an empty database where the user's has gone missing (db/identity.ts).
  const missing = missingDatabase(paths.db);
  if (missing) throw new CliUsageError(missing.reason);
  const db = openDatabase(paths.db);
  // A command may wait for the server's write to finish: it is not the server's event loop (50 ms there).
  db.raw.pragma('busy_timeout = 5000');
  return db;
}

/** Reads a line from the terminal without echoing it. */
function readHidden(prompt: string): Promise<string> {
  const { stdin, stdout } = process;
  stdout.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          stdout.write('\n');
          process.exit(130);
        } else if (ch === '\r' || ch === '\n') {
          stdin.off('data', onData);
          stdin.setRawMode(false);
          stdin.pause();
          stdout.write('\n');
          return resolve(text);
        } else if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await readHidden('New password: ');
    if ((await readHidden('Again: ')) !== first) throw new CliUsageError('the passwords do not match');
    return first;
  }
  let input = '';
  for await (const chunk of process.stdin) {
    input += String(chunk);
    if (input.length > 4096) break;
  }
  return input.split(/\r?\n/)[0] ?? '';
}

export async function passwordCommand(argv: string[]): Promise<void> {
  const [sub] = argv;
  if (sub === 'set') {
    const password = await readPassword();
    if (password.length < MIN_PASSWORD_LENGTH) throw new CliUsageError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
    const db = openDb();
    await storePassword(db, password);
    db.close();
    process.stdout.write('password set (stored as a scrypt hash); every existing session was logged out\n');
  } else if (sub === 'clear') {
    const db = openDb();
    await storePassword(db, undefined);
    db.close();
    process.stdout.write('password removed; a loopback-only server is open again, an exposed one will refuse to start\n');
  } else throw new CliUsageError('usage: cpl password set|clear   (set reads the password from the terminal, or the first line of stdin)');
}

export async function tokenCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const db = openDb();
  try {
    if (sub === 'create') {
      const { values } = parseArgs({ args: rest, options: { name: { type: 'string' } }, strict: true });
      const name = (values.name ?? 'api token').slice(0, 100);
      const t = createApiToken(db, name);
      process.stdout.write(`${t.token}\n`);
      process.stderr.write(`token ${t.id} ("${t.name}") created. Copy it now: it is not shown again. Use it as "Authorization: Bearer <token>".\n`);
    } else if (sub === 'list') {
      const rows = authRepo.listTokens(db);
      if (rows.length === 0) process.stdout.write('no API tokens\n');
      for (const r of rows) process.stdout.write(`${r.id}  ${r.name}  created ${r.createdAt}  last used ${r.lastUsedAt ?? 'never'}\n`);
    } else if (sub === 'revoke' && rest[0]) {
      if (!authRepo.deleteToken(db, rest[0])) throw new CliUsageError(`no token with id ${rest[0]} (see cpl token list)`);
      process.stdout.write(`token ${rest[0]} revoked\n`);
    } else throw new CliUsageError('usage: cpl token create [--name N] | list | revoke ID');
  } finally {
    db.close();
  }
}
