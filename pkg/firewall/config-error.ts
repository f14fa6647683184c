// A firewall section that cannot be used. The message names the exact key, e.g.
// `firewall.inbound[2].port: invalid port range "90-80"`, so the user can find it in the YAML.

export type Direction = 'inbound' | 'outbound';

export class FirewallConfigError extends Error {
  override name = 'FirewallConfigError';
  readonly code = 'EFIREWALLCONFIG';

  /**
   * @param direction the rule list at fault, or null for section-wide keys (conntrack, actions)
   * @param ruleIndex index in that list, or -1 when the error is not about one rule
   * @param field the rule key (`port`, `groups[1]`), '' for the rule as a whole, or the section key
   *   (`conntrack.tcp_timeout`) when `direction` is null
   */
  constructor(
    readonly direction: Direction | null,
    readonly ruleIndex: number,
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${configPath(direction, ruleIndex, field)}: ${detail}`);
  }

  /** The same place as key parts, e.g. `['firewall', 'inbound', 2, 'port']`, for looking up a file and line. */
  get keyPath(): (string | number)[] {
    const path: (string | number)[] = ['firewall'];
    if (this.direction) path.push(this.direction);
    if (this.ruleIndex >= 0) path.push(this.ruleIndex);
    // A field like `groups[1]` or `conntrack.udp_timeout` becomes separate parts.
    for (const part of this.field.split(/[.[\]]/)) if (part !== '') path.push(/^\d+$/.test(part) ? Number(part) : part);
    return path;
  }
}

/** `firewall.inbound[2].port`, `firewall.outbound[0]`, `firewall.inbound`, `firewall.conntrack.udp_timeout`. */
export function configPath(direction: Direction | null, ruleIndex: number, field: string): string {
  let path = 'firewall';
  if (direction) path += `.${direction}`;
  if (ruleIndex >= 0) path += `[${ruleIndex}]`;
  if (field) path += `.${field}`;
  return path;
}
