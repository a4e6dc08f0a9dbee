const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

const trim = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1));

/** `256 MiB`, `1.5 GiB`, `1 TiB`: memory as people read it in an error message. */
export function formatBytes(bytes: number): string {
  if (bytes >= TiB) return `${trim(bytes / TiB)} TiB`;
  if (bytes >= GiB) return `${trim(bytes / GiB)} GiB`;
  return `${trim(bytes / MiB)} MiB`;
}
