/** What the suites run against: one signed plugin, and the keys trusted to have signed it. */
import type { Manifest, PublicKey } from '@mcp0/abi';

/** A plugin under test. */
export interface PluginSubject {
  /** The manifest's name. */
  name: string;
  version: string;
  manifest: Manifest;
  /** The signed artifact. */
  bytes: Uint8Array;
  /** Keys trusted to have signed it (the suite fails the signature case when none did). */
  trust: PublicKey[];
  /** Where it came from, for reports. */
  file?: string;
}
