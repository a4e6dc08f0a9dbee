/** The `default` of a switch over a union: a compile error when a case is missing, a loud failure at run time. */
export function unreachable(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
