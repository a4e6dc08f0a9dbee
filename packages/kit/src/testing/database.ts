import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export type TestDatabase = {
  url: string;
  name: string;
  /** Drops the database, closing whatever connections are still open on it. */
  drop(): Promise<void>;
};

/** The server tests create their databases on; a maintenance database, never one the tests write to. */
export const testAdminUrl = (): string =>
  process.env.AGENTPOD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Creates a fresh, empty PostgreSQL database with a random name for one test file. */
export async function createTestDatabase(prefix = 'agentpod_test'): Promise<TestDatabase> {
  const adminUrl = testAdminUrl();
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const cleaner = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await cleaner.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleaner.end({ timeout: 5 });
      }
    },
  };
}
