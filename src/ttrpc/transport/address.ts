// Parsing of the addresses ttRPC endpoints listen on and connect to.
//
//   unix:///run/kata/agent.sock     Unix socket at an absolute path
//   unix://@kata-agent              Linux abstract socket (no file)
//   vsock://3:1024                  AF_VSOCK, context id 3, port 1024
//   vsock://-1:1024, vsock://:1024  AF_VSOCK, any context id (listening)
//   hvsock:///run/vm/kata.hvsock:1024
//                                   "hybrid vsock": a Unix socket of the VMM
//                                   (Firecracker, Cloud Hypervisor) that is
//                                   told the vsock port with a CONNECT line;
//                                   the port may be left out (default 1024)
//   serial:///dev/vport0p1          virtio-serial port (character device)
//
// These are the forms Kata's runtime and agent use (plus serial, ours).
// Errors are InvalidAddressError and name the part that is wrong.

export const VMADDR_CID_ANY = 0xffff_ffff;
/** The vsock port Kata's agent listens on. */
export const DEFAULT_AGENT_VSOCK_PORT = 1024;
/** sockaddr_un.sun_path holds 108 bytes including the terminating NUL. */
const UNIX_PATH_MAX = 107;

export type Address =
  /** `path` is what Node's net module takes: a file path, or "\0name" for an abstract socket. */
  | { scheme: 'unix'; path: string; abstract: boolean }
  | { scheme: 'vsock'; cid: number; port: number }
  | { scheme: 'hvsock'; path: string; port: number | undefined }
  | { scheme: 'serial'; path: string };

export type Scheme = Address['scheme'];

export class InvalidAddressError extends Error {
  readonly address: string;

  constructor(address: string, problem: string) {
    super(`invalid address ${JSON.stringify(address)}: ${problem}`);
    this.name = 'InvalidAddressError';
    this.address = address;
  }
}

export function parseAddress(uri: string): Address {
  const sep = uri.indexOf('://');
  if (sep < 0) throw new InvalidAddressError(uri, 'missing scheme (expected unix://, vsock://, hvsock:// or serial://)');
  const scheme = uri.slice(0, sep);
  const rest = uri.slice(sep + 3);
  const fail = (problem: string): never => {
    throw new InvalidAddressError(uri, problem);
  };

  switch (scheme) {
    case 'unix': {
      if (rest.startsWith('@')) {
        const name = rest.slice(1);
        if (name === '') fail('abstract socket name after "@" is empty');
        checkUnixPathLength(uri, `\0${name}`);
        return { scheme: 'unix', path: `\0${name}`, abstract: true };
      }
      if (!rest.startsWith('/')) fail(`unix socket path ${JSON.stringify(rest)} must be absolute (unix:///path) or abstract (unix://@name)`);
      checkUnixPathLength(uri, rest);
      return { scheme: 'unix', path: rest, abstract: false };
    }
    case 'vsock': {
      const colon = rest.lastIndexOf(':');
      if (colon < 0) fail('missing ":PORT" (expected vsock://CID:PORT)');
      const cidText = rest.slice(0, colon);
      const portText = rest.slice(colon + 1);
      let cid: number;
      if (cidText === '' || cidText === '-1') cid = VMADDR_CID_ANY;
      else cid = parseU32(cidText) ?? fail(`CID ${JSON.stringify(cidText)} is not a number from 0 to 4294967295 (or -1 / empty for any)`);
      const port = parseU32(portText) ?? fail(`port ${JSON.stringify(portText)} is not a number from 0 to 4294967295`);
      return { scheme: 'vsock', cid, port };
    }
    case 'hvsock': {
      // The port is the part after the last ':' when that part is all digits.
      const match = /^(.*):(\d+)$/.exec(rest);
      const path = match ? match[1]! : rest;
      let port: number | undefined;
      if (match) port = parseU32(match[2]!) ?? fail(`port ${JSON.stringify(match[2])} is out of range`);
      if (!path.startsWith('/')) fail(`hybrid vsock socket path ${JSON.stringify(path)} must be absolute (hvsock:///path:PORT)`);
      checkUnixPathLength(uri, path);
      return { scheme: 'hvsock', path, port };
    }
    case 'serial': {
      if (!rest.startsWith('/')) fail(`serial device path ${JSON.stringify(rest)} must be absolute (serial:///dev/...)`);
      return { scheme: 'serial', path: rest };
    }
    default:
      return fail(`unknown scheme ${JSON.stringify(scheme)} (expected unix, vsock, hvsock or serial)`);
  }
}

/** The canonical text of an address (an abstract socket is written unix://@name, any-CID as -1). */
export function formatAddress(address: Address): string {
  switch (address.scheme) {
    case 'unix':
      return address.abstract ? `unix://@${address.path.slice(1)}` : `unix://${address.path}`;
    case 'vsock':
      return `vsock://${address.cid === VMADDR_CID_ANY ? -1 : address.cid}:${address.port}`;
    case 'hvsock':
      return address.port === undefined ? `hvsock://${address.path}` : `hvsock://${address.path}:${address.port}`;
    case 'serial':
      return `serial://${address.path}`;
  }
}

function parseU32(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffff_ffff ? n : undefined;
}

function checkUnixPathLength(uri: string, path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > UNIX_PATH_MAX) {
    throw new InvalidAddressError(uri, `unix socket path is ${bytes} bytes long; the limit is ${UNIX_PATH_MAX}`);
  }
}
