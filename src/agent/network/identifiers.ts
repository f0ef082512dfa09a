// Interface names and MAC addresses in requests.
import { InvalidNetworkArgumentError } from './errors.js';

/**
 * Interface names we accept: 1-15 characters (IFNAMSIZ - 1) from letters,
 * digits, "_", "." and "-", not starting with "-" and not "." or "..".
 * The kernel allows more (anything but "/", ":" and white space), but every
 * name a runtime gives a guest NIC fits, and these cannot be mistaken for an
 * ip option or keyword position. ":" is out because the kernel refuses it in
 * link names (it only appears in address labels such as "eth0:1").
 */
const LINK_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,14}$/;

/** A MAC address: six hex octets separated by ":" (either case). */
const MAC_ADDRESS = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

export function isValidLinkName(name: string): boolean {
  return LINK_NAME.test(name) && name !== '.' && name !== '..';
}

/** Checks an interface name; returns it unchanged. */
export function parseLinkName(name: string, field: string): string {
  if (name === '') throw new InvalidNetworkArgumentError(field, 'missing interface name');
  if (!isValidLinkName(name)) {
    throw new InvalidNetworkArgumentError(
      field,
      `invalid interface name ${JSON.stringify(name)} (1-15 of A-Z a-z 0-9 _ . -, not starting with -)`,
    );
  }
  return name;
}

/** Checks a MAC address; returns it in lower case ("02:42:ac:11:00:02"). */
export function parseMacAddress(mac: string, field: string): string {
  if (!MAC_ADDRESS.test(mac)) {
    throw new InvalidNetworkArgumentError(field, `invalid MAC address ${JSON.stringify(mac)} (expected xx:xx:xx:xx:xx:xx)`);
  }
  return mac.toLowerCase();
}
