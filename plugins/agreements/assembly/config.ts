/**
 * The operator's configuration of mcp0.agreements, given to `mcp0_init` as a CBOR map (the
 * distribution's `config` of the plugin): `{providers: [keyId, …]}`, the provider keys this node
 * accepts agreements with. Who the provider is has to come from the node's operator, never from
 * the document: otherwise anyone holding two keys could register an agreement between them with
 * any terms (issue 12, defect 4). A malformed config is refused at load (`mcp0_init` fails, so the
 * module does not start), never read as "no providers" or "any provider"; a missing `providers`
 * accepts none, so register says how to configure it.
 */
import { CborText, Err, KEY_ID_EXPECTED, Kind, Value, decode, isKeyId } from "@mcp0/abi/as";

/** At most this many providers: the list is searched on every register, bind and admit. */
export const MAX_PROVIDERS: i32 = 64;

/** Where an operator configures the providers, for messages. */
const WHERE = "config.providers of mcp0.agreements";

/** The accepted provider key ids; empty: none (register refuses every document). */
export let providers: Array<string> = new Array<string>();
/** Why the last config was refused, or null. */
export let configError: Err | null = null;

/** Text for a message: quoted, and cut so a hostile value cannot make the message huge. */
export function shown(s: string): string {
  return '"' + (s.length > 64 ? s.slice(0, 64) + "…" : s) + '"';
}

/** A refused config: the message names the plugin, since a failed load reports it as it is. */
function bad(message: string): Err {
  return new Err("EINPUT", "mcp0.agreements " + message);
}

/** A value of the providers list as a message shows it. */
function describeItem(v: Value): string {
  const s = v.asText();
  if (s === null) return v.typeName;
  // A placeholder left in: only `mcp0 dist build` replaces "$assembler" with the assembler's key id.
  return shown(s) + (s.startsWith("$") ? " (a placeholder that only mcp0 dist build replaces)" : "");
}

function readConfig(input: Uint8Array, out: Array<string>): Err | null {
  const d = decode(input);
  if (!d.ok) return bad("config: " + d.error!.message);
  const m = d.value.asMap();
  if (m === null) return bad("config: expected a map, got " + d.value.typeName);
  for (let i = 0, n = m.entries.length; i < n; i++) {
    const k = unchecked(m.entries[i]).key;
    // A misspelt member would otherwise configure nothing without a word.
    if (k.kind != Kind.Text || changetype<CborText>(k).value != "providers") {
      return bad('config: expected only the member "providers", got ' + (k.kind == Kind.Text ? shown(changetype<CborText>(k).value) : "a " + k.typeName + " key"));
    }
  }
  const v = m.get("providers");
  if (v === null) return null;
  const a = v.asArray();
  if (a === null) return bad("config.providers: expected a list of key ids, got " + v.typeName);
  if (a.length > MAX_PROVIDERS) return bad("config.providers: expected at most " + MAX_PROVIDERS.toString() + " key ids, got " + a.length.toString());
  for (let i = 0, n = a.length; i < n; i++) {
    const item = unchecked(a.items[i]);
    const s = item.asText();
    if (s === null || !isKeyId(s)) return bad("config.providers/" + i.toString() + ": " + KEY_ID_EXPECTED + ", got " + describeItem(item));
    out.push(s);
  }
  return null;
}

/**
 * Take a config map (the input of mcp0_init); null when it is good. On a refusal no provider is
 * accepted and `configError` says why.
 */
export function configure(input: Uint8Array): Err | null {
  const next = new Array<string>();
  const err = readConfig(input, next);
  providers = err === null ? next : new Array<string>();
  configError = err;
  return err;
}

/** The accepted providers as a message lists them. */
function listed(): string {
  return "[" + providers.join(", ") + "]";
}

/** True when `provider` is one of the configured key ids. */
export function accepts(provider: string): bool {
  return configError === null && providers.includes(provider);
}

/**
 * Why the agreement `id` with this provider is not accepted here, or null when it is: EPERM
 * naming the provider and the accepted list (or how to configure one), ESTATE after a refused config.
 */
export function providerRefusal(id: string, provider: string): Err | null {
  if (configError !== null) return new Err("ESTATE", "agreement " + id + ": not accepted, the config was refused (" + configError!.message + ")");
  if (providers.length == 0) {
    return new Err("EPERM", "agreement " + id + ": the provider " + provider + " is not accepted: this node accepts no provider yet. The node's operator lists the provider key ids it accepts in "
      + WHERE + ' (the plugin\'s config in the distribution, e.g. "config": {"providers": ["$assembler"]} in the dist.json of mcp0 dist build)');
  }
  if (!providers.includes(provider)) return new Err("EPERM", "agreement " + id + ": expected a provider this node accepts (" + WHERE + ": " + listed() + "), got " + provider);
  return null;
}

/** The admit denial for an agreement whose provider is not (or no longer) accepted, or "". */
export function providerDenial(id: string, provider: string): string {
  if (accepts(provider)) return "";
  return "provider-not-accepted: agreement " + id + " is with the provider " + provider + ", expected one this node accepts (" + WHERE + ": " + listed() + ")";
}
